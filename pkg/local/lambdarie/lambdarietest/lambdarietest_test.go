package lambdarietest

import (
	"context"
	"reflect"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
)

type event struct{ N int }

func TestFunction(t *testing.T) {
	var f Function[event]
	if res, err := f.Invoke(context.Background(), []byte(`{"N":1}`)); err != nil || string(res.Payload) != "null" {
		t.Errorf("Invoke without Answer = %v, %v, want the payload null", res, err)
	}
	f.Answer = func(ev event) (*lambdarie.Result, error) {
		return &lambdarie.Result{Payload: []byte{byte('0' + ev.N)}}, nil
	}
	if res, err := f.Invoke(context.Background(), []byte(`{"N":2}`)); err != nil || string(res.Payload) != "2" {
		t.Errorf("Invoke with Answer = %v, %v, want the payload 2", res, err)
	}
	if _, err := f.Invoke(context.Background(), []byte(`[`)); err == nil {
		t.Error("Invoke(not an event) error = nil, want one")
	}
	got := f.Events()
	if want := []event{{1}, {2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Events() = %v, want %v", got, want)
	}
	got[0].N = 9
	if f.Events()[0].N != 1 {
		t.Error("Events() shares its slice with the caller")
	}
}
