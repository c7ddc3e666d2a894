package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSmokeRunWithoutFaults runs the harness end to end on a small load and no
// faults: every acknowledged share stored once and delivered once, in order, to
// every member's stream. The full run with faults is `make test-faults`.
func TestSmokeRunWithoutFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three server processes")
	}
	var out bytes.Buffer
	o := options{
		clients: 10, communities: 2, shares: 100, rate: 20,
		faults: false, quiesce: 20 * time.Second, timeout: 4 * time.Minute,
	}
	res, err := run(context.Background(), o, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("smoke run failed: %+v", res)
	}
	if res.Acknowledged != o.shares || res.Stored != o.shares {
		t.Errorf("acknowledged %d, stored %d, want %d each", res.Acknowledged, res.Stored, o.shares)
	}
	if want := o.shares * o.clients / o.communities; res.Delivered != want {
		t.Errorf("delivered %d, want %d", res.Delivered, want)
	}
}
