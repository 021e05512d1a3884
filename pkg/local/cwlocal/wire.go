package cwlocal

import (
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

// object is a decoded CBOR map with typed accessors. A member that is absent or CBOR
// null reads as absent, as the SDK's own deserializer treats it.
type object cbor.Map

func asObject(v cbor.Value, what string) (object, error) {
	m, ok := v.(cbor.Map)
	if !ok {
		return nil, invalid("%s must be a structure", what)
	}
	return object(m), nil
}

func (o object) get(name string) (cbor.Value, bool) {
	v, ok := o[name]
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case *cbor.Nil, *cbor.Undefined:
		return nil, false
	}
	return v, true
}

// member reads the member name with conv, which reports whether the value is of the
// type wanted; what names that type in the error.
func member[T any](o object, name, what string, conv func(cbor.Value) (T, bool)) (T, bool, error) {
	var zero T
	v, ok := o.get(name)
	if !ok {
		return zero, false, nil
	}
	x, ok := conv(v)
	if !ok {
		return zero, false, invalid("%s must be %s", name, what)
	}
	return x, true, nil
}

func (o object) str(name string) (string, bool, error) {
	return member(o, name, "a string", func(v cbor.Value) (string, bool) {
		s, ok := v.(cbor.String)
		return string(s), ok
	})
}

func (o object) integer(name string) (int64, bool, error) {
	return member(o, name, "an integer", func(v cbor.Value) (int64, bool) {
		n, err := cbor.AsInt64(v)
		return n, err == nil
	})
}

func (o object) number(name string) (float64, bool, error) {
	return member(o, name, "a number", func(v cbor.Value) (float64, bool) {
		f, err := cbor.AsFloat64(v)
		return f, err == nil
	})
}

func (o object) boolean(name string) (bool, bool, error) {
	return member(o, name, "a boolean", func(v cbor.Value) (bool, bool) {
		b, ok := v.(cbor.Bool)
		return bool(b), ok
	})
}

func (o object) timestamp(name string) (time.Time, bool, error) {
	return member(o, name, "a timestamp", func(v cbor.Value) (time.Time, bool) {
		t, err := cbor.AsTime(v)
		return t.UTC(), err == nil
	})
}

func (o object) list(name string) ([]cbor.Value, bool, error) {
	return member(o, name, "a list", func(v cbor.Value) ([]cbor.Value, bool) {
		l, ok := v.(cbor.List)
		return l, ok
	})
}

func (o object) object(name string) (object, bool, error) {
	v, ok := o.get(name)
	if !ok {
		return nil, false, nil
	}
	m, err := asObject(v, name)
	return m, err == nil, err
}

// dimensions reads a list of {Name, Value} structures.
func (o object) dimensions(name string) ([]Dimension, error) {
	l, _, err := o.list(name)
	if err != nil {
		return nil, err
	}
	dims := make([]Dimension, 0, len(l))
	for _, v := range l {
		d, err := asObject(v, name)
		if err != nil {
			return nil, err
		}
		n, _, err := d.str("Name")
		if err != nil {
			return nil, err
		}
		val, _, err := d.str("Value")
		if err != nil {
			return nil, err
		}
		if n == "" {
			return nil, invalid("dimension names must not be empty")
		}
		dims = append(dims, Dimension{Name: n, Value: val})
	}
	return dims, nil
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
