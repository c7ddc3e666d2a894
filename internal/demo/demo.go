// Package demo holds a real organisation's shape for demos, benchmarks and
// tests: SNAP's email-Eu-core network (1,005 people of a European research
// institution, 25,571 e-mail ties, 42 departments) with generated names, in the
// formats `server import` reads. See data/README.md for where it comes from.
//
// It only serves the files; community.Store.Import loads them:
//
//	store.Import(ctx, community.ImportInput{Nodes: demo.People(), Edges: demo.Edges(), IfEmpty: true})
package demo

import (
	"bytes"
	_ "embed"
	"io"
)

// Facts of the dataset (from its README), for tests and log lines.
const (
	PeopleCount     = 1005  // rows of People
	DepartmentCount = 42    // distinct communities in People
	TieCount        = 25571 // lines of Edges, each a directed e-mail tie
	SelfLoopCount   = 642   // ties from a person to themselves
	ConnectionCount = 16064 // distinct undirected pairs once merged
)

var (
	//go:embed data/people.csv
	people []byte
	//go:embed data/email-Eu-core.txt
	edges []byte
)

// People is the people file: CSV with id, handle, display_name, email, skills,
// community (the department), title, location.
func People() io.Reader { return bytes.NewReader(people) }

// Edges is the edge list: "from to" ids per line, as SNAP published it.
func Edges() io.Reader { return bytes.NewReader(edges) }
