package cwlocal

import (
	"fmt"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The SDK's CloudWatch client (service/cloudwatch v1.76) speaks Smithy RPCv2-CBOR, as its
// generated schema serde shows: POST /service/GraniteServiceVersion20100801/operation/<Op>,
// header Smithy-Protocol: rpc-v2-cbor, and a CBOR map body whose keys are the member names
// of the operation's input shape (StartTime, MetricDataQueries, …). Structures and lists
// come as indefinite-length maps and arrays, timestamps as tag 1 around epoch seconds
// (a float64), numbers as CBOR ints or floats. The decoder of smithy-go's encoding/cbor
// reads all of that into a tree of cbor.Value, which the helpers below walk.

// object is a decoded CBOR structure with typed accessors. A member that is absent or
// CBOR null reads as absent, as the SDK's own deserializer treats it. A member of the
// wrong type reads as absent too, and the first such error is kept for the whole input
// (the structures read from an object share it): a parser reads the members it needs
// and then checks err once, as with bufio.Scanner.
type object struct {
	m     cbor.Map
	first *error
}

// input is the operation's input structure, or an error when it is not one.
func input(v cbor.Value) (object, error) {
	m, ok := v.(cbor.Map)
	if !ok {
		return object{}, invalid("input must be a structure")
	}
	return object{m: m, first: new(error)}, nil
}

// err is the first error of any read from the input.
func (o object) err() error { return *o.first }

func (o object) fail(err error) {
	if *o.first == nil {
		*o.first = err
	}
}

func (o object) get(name string) (cbor.Value, bool) {
	v, ok := o.m[name]
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case *cbor.Nil, *cbor.Undefined:
		return nil, false
	}
	return v, true
}

// structure reads v, found at what, as a structure of the same input.
func (o object) structure(v cbor.Value, what string) (object, bool) {
	m, ok := v.(cbor.Map)
	if !ok {
		o.fail(invalid("%s must be a structure", what))
	}
	return object{m: m, first: o.first}, ok
}

// member reads the member name with conv, which reports whether the value is of the
// type wanted; what names that type in the error.
func member[T any](o object, name, what string, conv func(cbor.Value) (T, bool)) (T, bool) {
	var zero T
	v, ok := o.get(name)
	if !ok {
		return zero, false
	}
	x, ok := conv(v)
	if !ok {
		o.fail(invalid("%s must be %s", name, what))
		return zero, false
	}
	return x, true
}

func (o object) str(name string) (string, bool) {
	return member(o, name, "a string", func(v cbor.Value) (string, bool) {
		s, ok := v.(cbor.String)
		return string(s), ok
	})
}

func (o object) integer(name string) (int64, bool) {
	return member(o, name, "an integer", func(v cbor.Value) (int64, bool) {
		n, err := cbor.AsInt64(v)
		return n, err == nil
	})
}

func (o object) number(name string) (float64, bool) {
	return member(o, name, "a number", func(v cbor.Value) (float64, bool) {
		f, err := cbor.AsFloat64(v)
		return f, err == nil
	})
}

func (o object) boolean(name string) (bool, bool) {
	return member(o, name, "a boolean", func(v cbor.Value) (bool, bool) {
		b, ok := v.(cbor.Bool)
		return bool(b), ok
	})
}

func (o object) timestamp(name string) (time.Time, bool) {
	return member(o, name, "a timestamp", func(v cbor.Value) (time.Time, bool) {
		t, err := cbor.AsTime(v)
		return t.UTC(), err == nil
	})
}

func (o object) list(name string) ([]cbor.Value, bool) {
	return member(o, name, "a list", func(v cbor.Value) ([]cbor.Value, bool) {
		l, ok := v.(cbor.List)
		return l, ok
	})
}

// object reads a member that is a structure; absent, it is an empty one.
func (o object) object(name string) (object, bool) {
	v, ok := o.get(name)
	if !ok {
		return object{first: o.first}, false
	}
	return o.structure(v, name)
}

// objects reads a member that is a list of structures.
func (o object) objects(name string) []object {
	l, _ := o.list(name)
	out := make([]object, 0, len(l))
	for i, v := range l {
		if x, ok := o.structure(v, fmt.Sprintf("%s[%d]", name, i)); ok {
			out = append(out, x)
		}
	}
	return out
}

// dimensions reads a list of {Name, Value} structures.
func (o object) dimensions(name string) []Dimension {
	l := o.objects(name)
	dims := make([]Dimension, 0, len(l))
	for _, d := range l {
		n, _ := d.str("Name")
		val, _ := d.str("Value")
		if n == "" {
			o.fail(invalid("dimension names must not be empty"))
		}
		dims = append(dims, Dimension{Name: n, Value: val})
	}
	return dims
}

// encodeTime is a timestamp as the SDK writes and reads it: tag 1, epoch seconds.
func encodeTime(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func encodeDimensions(dims []Dimension) cbor.List {
	l := make(cbor.List, 0, len(dims))
	for _, d := range dims {
		l = append(l, cbor.Map{"Name": cbor.String(d.Name), "Value": cbor.String(d.Value)})
	}
	return l
}
