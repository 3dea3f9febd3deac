package service

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// unknownField finds the first object key of data that no struct field
// of t takes, which json.Decoder.DisallowUnknownFields would refuse. It
// lets decodeBody use json.Unmarshal on the body it holds, where a
// Decoder would copy the whole body into a buffer of its own (growing it
// by doubling, up to three times the body at once).
//
// data must be valid JSON (json.Unmarshal accepted it into a t). Keys
// match fields as encoding/json matches them: exactly, else ignoring
// case.
func unknownField(data []byte, t reflect.Type) error {
	c := fieldChecker{data: data}
	return c.value(t)
}

type fieldChecker struct {
	data []byte
	i    int
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value checks the value at c.i, to be decoded into t, and moves past it.
func (c *fieldChecker) value(t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c.space()
	if t == nil || reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		c.skip() // decoded by its own method (json.RawMessage: anything goes)
		return nil
	}
	switch c.data[c.i] {
	case '{':
		switch t.Kind() {
		case reflect.Struct:
			return c.object(t)
		case reflect.Map:
			return c.mapValues(t.Elem())
		}
	case '[':
		if k := t.Kind(); k == reflect.Slice || k == reflect.Array {
			return c.array(t.Elem())
		}
	}
	c.skip() // a scalar, or a value for an interface
	return nil
}

func (c *fieldChecker) object(t reflect.Type) error {
	fields := structFields(t)
	c.i++ // {
	for {
		c.space()
		if c.data[c.i] == '}' {
			c.i++
			return nil
		}
		if c.data[c.i] == ',' {
			c.i++
			c.space()
		}
		key := c.key()
		ft, ok := fields.lookup(key)
		if !ok {
			return fmt.Errorf("json: unknown field %q", key)
		}
		c.space()
		c.i++ // :
		if err := c.value(ft); err != nil {
			return err
		}
	}
}

func (c *fieldChecker) mapValues(elem reflect.Type) error {
	c.i++ // {
	for {
		c.space()
		switch c.data[c.i] {
		case '}':
			c.i++
			return nil
		case ',':
			c.i++
			c.space()
		}
		c.skip() // the key
		c.space()
		c.i++ // :
		if err := c.value(elem); err != nil {
			return err
		}
	}
}

func (c *fieldChecker) array(elem reflect.Type) error {
	c.i++ // [
	for {
		c.space()
		switch c.data[c.i] {
		case ']':
			c.i++
			return nil
		case ',':
			c.i++
		}
		if err := c.value(elem); err != nil {
			return err
		}
	}
}

// key reads the object key at c.i and moves past it, decoded as
// encoding/json decodes it (escapes resolved, bad UTF-8 replaced).
func (c *fieldChecker) key() []byte {
	start := c.i
	escaped := c.str()
	raw := c.data[start+1 : c.i-1]
	if !escaped && utf8.Valid(raw) {
		return raw
	}
	var k string
	_ = json.Unmarshal(c.data[start:c.i], &k) // valid: Unmarshal accepted it
	return []byte(k)
}

// str moves past the string at c.i and reports whether it has escapes.
func (c *fieldChecker) str() (escaped bool) {
	c.i++ // "
	for {
		switch c.data[c.i] {
		case '\\':
			escaped = true
			c.i += 2
		case '"':
			c.i++
			return escaped
		default:
			c.i++
		}
	}
}

// skip moves past the value at c.i.
func (c *fieldChecker) skip() {
	depth := 0
	for {
		switch c.data[c.i] {
		case '"':
			c.str()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				c.i++
				return
			}
		default:
			if depth == 0 {
				// A number or a literal: up to the next delimiter.
				for c.i < len(c.data) && !strings.ContainsRune(",}] \t\r\n", rune(c.data[c.i])) {
					c.i++
				}
				return
			}
		}
		c.i++
	}
}

func (c *fieldChecker) space() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\r', '\n':
			c.i++
		default:
			return
		}
	}
}

// fieldSet is the JSON names of a struct's fields and their types.
type fieldSet []jsonField

type jsonField struct {
	name []byte
	typ  reflect.Type
}

// lookup finds the field a key decodes into, without allocating: it runs
// for every key of every request.
func (fs fieldSet) lookup(key []byte) (reflect.Type, bool) {
	for _, f := range fs {
		if bytes.Equal(f.name, key) {
			return f.typ, true
		}
	}
	for _, f := range fs {
		if bytes.EqualFold(f.name, key) {
			return f.typ, true
		}
	}
	return nil, false
}

var fieldSets sync.Map // reflect.Type -> fieldSet

// structFields lists the fields encoding/json decodes into t: exported
// ones not tagged "-", under their tag's name, with untagged embedded
// structs' fields promoted.
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(fieldSet)
	}
	var fs fieldSet
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				fs = append(fs, structFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		fs = append(fs, jsonField{[]byte(cmp.Or(name, f.Name)), ft})
	}
	fieldSets.Store(t, fs)
	return fs
}
