package api

import (
	"testing"

	"github.com/hrisbridge/hrisbridge/schema"
	"github.com/hrisbridge/hrisbridge/schema/storetest"
)

func openSQLite(t *testing.T) schema.Store { return storetest.SQLite(t) }
