package profile

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// go-toml decodes a time.Duration as an integer of nanoseconds. config.toml
// writes durations as strings ("30s"), so decoding goes through a mirror
// of File built by reflection: the same keys, with durationText in place
// of every time.Duration. Built from the struct tags, the mirror follows
// endpoint.Config as fields are added.

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// durationText is a time.Duration written as a string with a unit.
type durationText struct{ D time.Duration }

func (d *durationText) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		if _, nerr := strconv.ParseFloat(string(b), 64); nerr == nil {
			return fmt.Errorf("%q has no unit: write it like \"%ss\" (units: ms, s, m, h)", b, b)
		}
		return fmt.Errorf("%q is not a duration: write a number with a unit, like \"30s\" or \"2m\"", b)
	}
	d.D = v
	return nil
}

// mirror is the decoding twin of a struct type.
type mirror struct {
	typ    reflect.Type // the mirror struct
	fields []mirrorField
}

// mirrorField maps field i of the mirror to the original.
type mirrorField struct {
	path []int // index path in the original struct (through embedded structs)
	conv conversion
	sub  *mirror // conv == convStruct or convSlice of structs
}

type conversion int

const (
	convCopy conversion = iota
	convDuration
	convStruct
	convSliceDuration
	convSliceStruct
	convPtrStruct
)

var mirrors sync.Map // reflect.Type -> *mirror

// mirrorOf returns the mirror of struct type t.
func mirrorOf(t reflect.Type) *mirror {
	if m, ok := mirrors.Load(t); ok {
		return m.(*mirror)
	}
	m := &mirror{}
	var sfs []reflect.StructField
	var add func(t reflect.Type, path []int)
	add = func(t reflect.Type, path []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, ok := tomlName(f)
			if !ok {
				continue
			}
			p := append(append([]int(nil), path...), i)
			if f.Anonymous && f.Tag.Get("toml") == "" && f.Type.Kind() == reflect.Struct {
				add(f.Type, p)
				continue
			}
			mf := mirrorField{path: p}
			typ := f.Type
			switch {
			case typ == durationType:
				mf.conv, typ = convDuration, reflect.TypeFor[durationText]()
			case isTable(typ):
				mf.conv, mf.sub = convStruct, mirrorOf(typ)
				typ = mf.sub.typ
			case typ.Kind() == reflect.Slice && typ.Elem() == durationType:
				mf.conv, typ = convSliceDuration, reflect.SliceOf(reflect.TypeFor[durationText]())
			case typ.Kind() == reflect.Slice && isTable(typ.Elem()):
				mf.conv, mf.sub = convSliceStruct, mirrorOf(typ.Elem())
				typ = reflect.SliceOf(mf.sub.typ)
			case typ.Kind() == reflect.Pointer && isTable(typ.Elem()):
				mf.conv, mf.sub = convPtrStruct, mirrorOf(typ.Elem())
				typ = reflect.PointerTo(mf.sub.typ)
			}
			m.fields = append(m.fields, mf)
			sfs = append(sfs, reflect.StructField{
				Name: "F" + strconv.Itoa(len(sfs)),
				Type: typ,
				Tag:  reflect.StructTag(`toml:"` + name + `"`),
			})
		}
	}
	add(t, nil)
	m.typ = reflect.StructOf(sfs)
	actual, _ := mirrors.LoadOrStore(t, m)
	return actual.(*mirror)
}

// copyTo sets the fields of dst (an addressable original struct) from src
// (a value of the mirror type).
func (m *mirror) copyTo(dst, src reflect.Value) {
	for i, mf := range m.fields {
		from := src.Field(i)
		to := dst.FieldByIndex(mf.path)
		switch mf.conv {
		case convCopy:
			to.Set(from)
		case convDuration:
			to.SetInt(int64(from.Interface().(durationText).D))
		case convStruct:
			mf.sub.copyTo(to, from)
		case convSliceDuration:
			if from.IsNil() {
				continue
			}
			s := reflect.MakeSlice(to.Type(), from.Len(), from.Len())
			for j := range from.Len() {
				s.Index(j).SetInt(int64(from.Index(j).Interface().(durationText).D))
			}
			to.Set(s)
		case convSliceStruct:
			if from.IsNil() {
				continue
			}
			s := reflect.MakeSlice(to.Type(), from.Len(), from.Len())
			for j := range from.Len() {
				mf.sub.copyTo(s.Index(j), from.Index(j))
			}
			to.Set(s)
		case convPtrStruct:
			if from.IsNil() {
				continue
			}
			v := reflect.New(to.Type().Elem())
			mf.sub.copyTo(v.Elem(), from.Elem())
			to.Set(v)
		}
	}
}

// decodeStrict decodes TOML into out (a pointer to a struct) through its
// mirror, refusing unknown keys.
func decodeStrict(data []byte, out any) error {
	dst := reflect.ValueOf(out).Elem()
	m := mirrorOf(dst.Type())
	mv := reflect.New(m.typ)
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(mv.Interface()); err != nil {
		return err
	}
	m.copyTo(dst, mv.Elem())
	return nil
}
