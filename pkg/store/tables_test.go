package store

import (
	"strings"
	"testing"
)

func TestTablesRequire(t *testing.T) {
	tables := TablesFrom(func(k string) string { return map[string]string{EnvProjectsTable: "p", EnvEventsTable: "e"}[k] })
	if err := tables.Require(EnvProjectsTable, EnvEventsTable); err != nil {
		t.Errorf("Require(set tables) = %v, want nil", err)
	}
	err := tables.Require(EnvProjectsTable, EnvStatesTable, EnvUpdatesTable)
	if err == nil || !strings.Contains(err.Error(), EnvStatesTable) || !strings.Contains(err.Error(), EnvUpdatesTable) || strings.Contains(err.Error(), EnvProjectsTable) {
		t.Errorf("Require(missing) = %v, want an error naming %s and %s only", err, EnvStatesTable, EnvUpdatesTable)
	}
}
