package profile

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// BurntSushi/toml parses config.toml into maps; this file sets File from
// them. The library's own struct decoding would do, but it stops at the
// first wrong value (which one depends on map order), it reads an integer
// as nanoseconds for a time.Duration, and its messages name Go types.
// Walking the tables here instead reports every wrong value and unknown key
// at once, in the order of the file, in config.toml's words.

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// decoder sets a struct from decoded TOML tables and gathers the
// problems, each with the line where the file sets its key.
type decoder struct {
	lines    map[string]int
	problems []Problem
}

// decodeStrict decodes TOML into out (a pointer to a struct), refusing
// unknown keys and values of the wrong type.
func decodeStrict(data []byte, out any) error {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if problems := decodeTables(doc, keyLines(data), reflect.ValueOf(out).Elem()); len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// decodeTables sets dst, a struct, from the document's top-level table and
// returns the problems found, by line.
func decodeTables(doc map[string]any, lines map[string]int, dst reflect.Value) []Problem {
	d := &decoder{lines: lines}
	d.table(dst, doc, "")
	sort.SliceStable(d.problems, func(i, j int) bool {
		a, b := d.problems[i], d.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Message < b.Message
	})
	// The items of a list fail alike: say it once.
	return slices.Compact(d.problems)
}

// line is where the file sets key, or else where it sets the nearest table
// holding it (a key in an inline table the scanner did not see).
func (d *decoder) line(key string) int {
	for {
		if l, ok := d.lines[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

func (d *decoder) fail(key, msg string) {
	d.problems = append(d.problems, Problem{Key: key, Line: d.line(key), Message: msg})
}

// table sets the fields of struct v from a TOML table. Names match the toml
// tags exactly or, failing that, ignoring case, as BurntSushi/toml does.
func (d *decoder) table(v reflect.Value, table map[string]any, prefix string) {
	fields := tableFields(v.Type())
	for name, data := range table {
		key := prefix + name
		var f *tableField
		for i := range fields {
			if fields[i].name == name {
				f = &fields[i]
				break
			}
			if f == nil && strings.EqualFold(fields[i].name, name) {
				f = &fields[i]
			}
		}
		if f == nil {
			d.problems = append(d.problems, unknownKey(key, d.line(key)))
			continue
		}
		d.value(v.FieldByIndex(f.index), data, key, describe(f.typ))
	}
}

// value sets v from one decoded TOML value. want says what v is written
// as, for messages (for a list's items, the list's).
func (d *decoder) value(v reflect.Value, data any, key, want string) {
	t := v.Type()
	mismatch := func() { d.fail(key, fmt.Sprintf("want %s, not a TOML %s", want, tomlKind(data))) }
	switch {
	case t == durationType:
		s, ok := data.(string)
		if !ok {
			d.fail(key, fmt.Sprintf("want %s, not %s", want, kindName(data)))
			return
		}
		dur, err := parseDuration(s)
		if err != nil {
			d.fail(key, err.Error())
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.value(nv.Elem(), data, key, want)
		v.Set(nv)
	case reflect.PointerTo(t).Implements(textUnmarshalerType) && t != reflect.TypeFor[time.Time]():
		s, ok := data.(string)
		if !ok {
			mismatch()
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(key, err.Error())
		}
	case isTable(t):
		m, ok := data.(map[string]any)
		if !ok {
			mismatch()
			return
		}
		d.table(v, m, key+".")
	case t.Kind() == reflect.Slice:
		items, ok := listOf(data)
		if !ok {
			mismatch()
			return
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			d.value(s.Index(i), it, key, want)
		}
		v.Set(s)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		m, ok := data.(map[string]any)
		if !ok {
			mismatch()
			return
		}
		mv := reflect.MakeMapWithSize(t, len(m))
		for k, x := range m {
			ev := reflect.New(t.Elem()).Elem()
			d.value(ev, x, key+"."+k, describe(t.Elem()))
			mv.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		v.Set(mv)
	default:
		if !d.scalar(v, data, key) {
			mismatch()
		}
	}
}

// scalar sets a string, boolean, number or time; false if data is not one
// that fits.
func (d *decoder) scalar(v reflect.Value, data any, key string) bool {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		s, ok := data.(string)
		if ok {
			v.SetString(s)
		}
		return ok
	case reflect.Bool:
		b, ok := data.(bool)
		if ok {
			v.SetBool(b)
		}
		return ok
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := data.(int64)
		if ok && v.OverflowInt(n) {
			d.fail(key, fmt.Sprintf("%d is too large", n))
		} else if ok {
			v.SetInt(n)
		}
		return ok
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := data.(int64)
		switch {
		case ok && n < 0:
			d.fail(key, fmt.Sprintf("%d is negative", n))
		case ok && v.OverflowUint(uint64(n)):
			d.fail(key, fmt.Sprintf("%d is too large", n))
		case ok:
			v.SetUint(uint64(n))
		}
		return ok
	case reflect.Float32, reflect.Float64:
		switch n := data.(type) {
		case float64:
			v.SetFloat(n)
		case int64:
			v.SetFloat(float64(n))
		default:
			return false
		}
		return true
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf(data))
			return true
		}
	case reflect.Struct: // time.Time
		tm, ok := data.(time.Time)
		if ok && t == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(tm))
			return true
		}
	}
	return false
}

// listOf returns the items of a TOML array or array of tables.
func listOf(data any) ([]any, bool) {
	switch l := data.(type) {
	case []any:
		return l, true
	case []map[string]any:
		items := make([]any, len(l))
		for i, m := range l {
			items[i] = m
		}
		return items, true
	}
	return nil, false
}

// parseDuration reads a duration string, telling what to write instead.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("%q has no unit: write it like \"%ss\" (units: ms, s, m, h)", s, s)
		}
		return 0, fmt.Errorf("%q is not a duration: write a number with a unit, like \"30s\" or \"2m\"", s)
	}
	return v, nil
}

// tomlKind names the TOML type of a decoded value, for "not a TOML ...".
func tomlKind(data any) string {
	switch data.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	}
	return "date or time"
}

// kindNames name what a decoded value is, by its TOML type, for a
// duration written as something else (the words config.toml's messages
// have always used).
var kindNames = map[string]string{
	"string": "a string", "integer": "an integer", "float": "a number", "boolean": "a boolean",
	"array": "a list", "array of tables": "a list", "table": "a table", "date or time": "a date or time",
}

func kindName(data any) string { return kindNames[tomlKind(data)] }
