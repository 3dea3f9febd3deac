package profile

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Key is one option of config.toml as reflection finds it in File.
type Key struct {
	// Name is the dotted key as written in config.toml ("provider.max_blocks").
	Name string
	// Type is the Go type the value decodes into.
	Type reflect.Type
	// Table is true for a table ([provider]), false for a value.
	Table bool
}

var durationType = reflect.TypeFor[time.Duration]()

// Keys returns every key of config.toml, tables included, in the order of
// the struct fields. It is derived from the toml tags of File (and so of
// endpoint.Config), so options added to endpoint.Config are accepted
// without a change here.
func Keys() []Key {
	var keys []Key
	walkFields(reflect.TypeFor[File](), "", func(name string, f reflect.StructField) bool {
		table := isTable(f.Type) || (f.Type.Kind() == reflect.Pointer && isTable(f.Type.Elem()))
		keys = append(keys, Key{Name: name, Type: f.Type, Table: table})
		return table
	})
	return keys
}

// walkFields calls fn for every decodable field of struct type t, with its
// dotted toml key. fn returns whether to descend into the field (a table).
func walkFields(t reflect.Type, prefix string, fn func(name string, f reflect.StructField) bool) {
	for _, tf := range tableFields(t) {
		if fn(prefix+tf.name, tf.field) {
			t := tf.typ
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			walkFields(t, prefix+tf.name+".", fn)
		}
	}
}

// tableField is one key of a TOML table decoded into a struct.
type tableField struct {
	name  string
	index []int // for reflect.Value.FieldByIndex, through embedded structs
	typ   reflect.Type
	field reflect.StructField
}

var tableFieldsCache sync.Map // reflect.Type -> []tableField

// tableFields returns the keys of struct type t in field order, the fields
// of untagged embedded structs among them (File embeds endpoint.Config).
func tableFields(t reflect.Type) []tableField {
	if c, ok := tableFieldsCache.Load(t); ok {
		return c.([]tableField)
	}
	var out []tableField
	var add func(t reflect.Type, index []int)
	add = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, ok := tomlName(f)
			if !ok {
				continue
			}
			idx := append(slices.Clone(index), i)
			if f.Anonymous && f.Tag.Get("toml") == "" && f.Type.Kind() == reflect.Struct {
				add(f.Type, idx)
				continue
			}
			out = append(out, tableField{name: name, index: idx, typ: f.Type, field: f})
		}
	}
	add(t, nil)
	c, _ := tableFieldsCache.LoadOrStore(t, out)
	return c.([]tableField)
}

// tomlName is the key of a field, or false for a field that is not
// decoded (unexported, or tagged "-").
func tomlName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("toml")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

// isTable reports whether values of t are TOML tables that this package
// decodes field by field.
func isTable(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() &&
		!reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// describe names what a value of type t is written as, for errors.
func describe(t reflect.Type) string {
	if t == durationType {
		return `a duration string like "30s"`
	}
	if isTable(t) || (t.Kind() == reflect.Pointer && isTable(t.Elem())) {
		return "a table"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem() == durationType {
			return `a list of duration strings like "30s"`
		}
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "a table of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + "s"
	}
	return t.String()
}
