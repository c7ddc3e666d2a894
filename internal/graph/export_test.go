package graph

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exportCase is one person in the crafted snapshot with what each format must
// give back for the text people typed.
type exportCase struct {
	node     NodeMetrics
	xmlName  string // display name after XML stripping
	xmlHand  string
	csvName  string // display name in CSV (formula guard, no stripping)
	csvHand  string
	wantComm string // community label
}

func exportSnapshot() (*Snapshot, []exportCase, []ExportEdge) {
	cases := []exportCase{
		{
			node: NodeMetrics{NodeID: 11, Handle: "ada", DisplayName: `Ada <script>alert("x")</script> & Co`,
				Community: 0, Degree: 3, Strength: 4.25, PageRank: 0.3141592653589793, Betweenness: 0.5,
				Broker: true, X: 0.1, Y: 0.9},
			xmlName: `Ada <script>alert("x")</script> & Co`, xmlHand: "ada",
			csvName: `Ada <script>alert("x")</script> & Co`, csvHand: "ada", wantComm: `Sales & <Ops> "EU"`,
		},
		{
			// Characters XML 1.0 cannot carry: NUL, ESC, U+FFFE and a
			// byte that is not UTF-8. Tab and newline survive.
			node: NodeMetrics{NodeID: 12, Handle: "bob\x00", DisplayName: "Bob\x00\x1b Zoë\uFFFE\xff\tthe\nsecond",
				Community: 1, Degree: 1, Strength: 1, PageRank: 1e-7, Betweenness: 0, Peripheral: true, X: 0, Y: 1},
			xmlName: "Bob Zoë\tthe\nsecond", xmlHand: "bob",
			csvName: "Bob\x00\x1b Zoë\uFFFE\uFFFD\tthe\nsecond", csvHand: "bob\x00", wantComm: "Research",
		},
		{
			// Formula injection: every leading character a spreadsheet
			// would evaluate.
			node: NodeMetrics{NodeID: 13, Handle: "=cmd", DisplayName: `=HYPERLINK("http://evil","x")`,
				Community: 0, Degree: 2, Strength: 2.5, PageRank: 0.2, Betweenness: 0.125, X: 0.5, Y: 0.5},
			xmlName: `=HYPERLINK("http://evil","x")`, xmlHand: "=cmd",
			csvName: `'=HYPERLINK("http://evil","x")`, csvHand: "'=cmd", wantComm: `Sales & <Ops> "EU"`,
		},
		{
			node: NodeMetrics{NodeID: 14, Handle: "+plus", DisplayName: "-minus", Community: 1, Degree: 1,
				Strength: 0.75, PageRank: 0.1, X: 1, Y: 0},
			xmlName: "-minus", xmlHand: "+plus", csvName: "'-minus", csvHand: "'+plus", wantComm: "Research",
		},
		{
			node: NodeMetrics{NodeID: 15, Handle: "@at", DisplayName: "\tTabbed 🙂 עברית",
				Community: -1, Isolated: true, X: 0.25, Y: 0.75},
			xmlName: "\tTabbed 🙂 עברית", xmlHand: "@at", csvName: "'\tTabbed 🙂 עברית", csvHand: "'@at", wantComm: "",
		},
	}
	s := &Snapshot{
		ID: 7, WindowDays: 90, Kind: "current", ComputedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
		Communities: []CommunityMetrics{{ID: 0, Label: `Sales & <Ops> "EU"`}, {ID: 1, Label: "Research"}},
	}
	for _, c := range cases {
		s.Nodes = append(s.Nodes, c.node)
	}
	edges := []ExportEdge{
		{Source: 11, Target: 12, Weight: 1, Kind: "declared"},
		{Source: 11, Target: 13, Weight: 2.5, Kind: "interaction"},
		{Source: 13, Target: 14, Weight: 0.1, Kind: `=evil<&>`},
		{Source: 11, Target: 14, Weight: 0.75, Kind: ""},
	}
	return s, cases, edges
}

// The attributes every XML export must declare, with their GraphML and GEXF types.
var exportAttrTypes = []struct{ name, graphml, gexf string }{
	{"handle", "string", "string"}, {"display_name", "string", "string"},
	{"community", "int", "integer"}, {"community_label", "string", "string"},
	{"degree", "int", "integer"}, {"strength", "double", "double"},
	{"pagerank", "double", "double"}, {"betweenness", "double", "double"},
	{"broker", "boolean", "boolean"}, {"isolated", "boolean", "boolean"},
	{"peripheral", "boolean", "boolean"}, {"x", "double", "double"}, {"y", "double", "double"},
}

// wantAttrs is what each node's attributes must read back as, spelled the
// way the round trip compares them (numbers parsed, text exact).
func wantAttrs(c exportCase) map[string]string {
	n := c.node
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return map[string]string{
		"handle": c.xmlHand, "display_name": c.xmlName,
		"community": strconv.Itoa(n.Community), "community_label": c.wantComm,
		"degree": strconv.Itoa(n.Degree), "strength": f(n.Strength), "pagerank": f(n.PageRank),
		"betweenness": f(n.Betweenness), "broker": strconv.FormatBool(n.Broker),
		"isolated": strconv.FormatBool(n.Isolated), "peripheral": strconv.FormatBool(n.Peripheral),
		"x": f(n.X), "y": f(n.Y),
	}
}

// canon re-spells a value read back so numbers compare by value.
func canon(typ, v string) string {
	switch typ {
	case "double":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "unparsable:" + v
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case "int", "integer":
		i, err := strconv.Atoi(v)
		if err != nil {
			return "unparsable:" + v
		}
		return strconv.Itoa(i)
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "unparsable:" + v
		}
		return strconv.FormatBool(b)
	}
	return v
}

type graphmlDoc struct {
	XMLName xml.Name `xml:"http://graphml.graphdrawing.org/xmlns graphml"`
	Keys    []struct {
		ID   string `xml:"id,attr"`
		For  string `xml:"for,attr"`
		Name string `xml:"attr.name,attr"`
		Type string `xml:"attr.type,attr"`
	} `xml:"key"`
	Graph struct {
		EdgeDefault string `xml:"edgedefault,attr"`
		Nodes       []struct {
			ID   string        `xml:"id,attr"`
			Data []graphmlData `xml:"data"`
		} `xml:"node"`
		Edges []struct {
			Source string        `xml:"source,attr"`
			Target string        `xml:"target,attr"`
			Data   []graphmlData `xml:"data"`
		} `xml:"edge"`
	} `xml:"graph"`
}

type graphmlData struct {
	Key   string `xml:"key,attr"`
	Value string `xml:",chardata"`
}

func TestGraphMLRoundTrip(t *testing.T) {
	s, cases, edges := exportSnapshot()
	var buf bytes.Buffer
	if err := WriteGraphML(&buf, s, edges); err != nil {
		t.Fatal(err)
	}
	exportKeep(t, "crafted.graphml", buf.Bytes())
	raw := buf.String()
	if !strings.HasPrefix(raw, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration: %.60q", raw)
	}
	if !strings.Contains(raw, `<graphml xmlns="http://graphml.graphdrawing.org/xmlns"`) {
		t.Errorf("GraphML namespace not declared on the root")
	}
	var doc graphmlDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil { // strict: rejects illegal characters
		t.Fatalf("parse back: %v", err)
	}
	if doc.Graph.EdgeDefault != "undirected" {
		t.Errorf("edgedefault = %q, want undirected", doc.Graph.EdgeDefault)
	}

	keyType := map[string]string{} // key id → attr.type, node keys only
	for _, k := range doc.Keys {
		if k.For == "node" {
			if k.ID != k.Name {
				t.Errorf("key %q names attribute %q; want them equal", k.ID, k.Name)
			}
			keyType[k.ID] = k.Type
		}
	}
	for _, a := range exportAttrTypes {
		if got := keyType[a.name]; got != a.graphml {
			t.Errorf("key %s: attr.type %q, want %q", a.name, got, a.graphml)
		}
	}
	if len(keyType) != len(exportAttrTypes) {
		t.Errorf("%d node keys, want %d", len(keyType), len(exportAttrTypes))
	}

	if len(doc.Graph.Nodes) != len(cases) {
		t.Fatalf("%d nodes, want %d", len(doc.Graph.Nodes), len(cases))
	}
	for i, c := range cases {
		n := doc.Graph.Nodes[i]
		t.Run(c.xmlHand, func(t *testing.T) {
			if want := strconv.FormatInt(c.node.NodeID, 10); n.ID != want {
				t.Errorf("id %q, want %q", n.ID, want)
			}
			got := map[string]string{}
			for _, d := range n.Data {
				got[d.Key] = canon(keyType[d.Key], d.Value)
			}
			for k, want := range wantAttrs(c) {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			if len(got) != len(exportAttrTypes) {
				t.Errorf("%d attributes, want %d", len(got), len(exportAttrTypes))
			}
		})
	}

	if len(doc.Graph.Edges) != len(edges) {
		t.Fatalf("%d edges, want %d", len(doc.Graph.Edges), len(edges))
	}
	for i, e := range edges {
		got := doc.Graph.Edges[i]
		data := map[string]string{}
		for _, d := range got.Data {
			data[d.Key] = d.Value
		}
		w, err := strconv.ParseFloat(data["weight"], 64)
		if got.Source != strconv.FormatInt(e.Source, 10) || got.Target != strconv.FormatInt(e.Target, 10) ||
			err != nil || w != e.Weight || data["kind"] != e.Kind {
			t.Errorf("edge %d = %s–%s %v %q, want %d–%d %v %q", i, got.Source, got.Target, data["weight"], data["kind"],
				e.Source, e.Target, e.Weight, e.Kind)
		}
	}
}

const vizNS = "http://gexf.net/1.3/viz"

type gexfDoc struct {
	XMLName xml.Name `xml:"http://gexf.net/1.3 gexf"`
	Version string   `xml:"version,attr"`
	Graph   struct {
		DefaultEdgeType string `xml:"defaultedgetype,attr"`
		Attributes      []struct {
			Class string `xml:"class,attr"`
			Attrs []struct {
				ID    string `xml:"id,attr"`
				Title string `xml:"title,attr"`
				Type  string `xml:"type,attr"`
			} `xml:"attribute"`
		} `xml:"attributes"`
		Nodes []struct {
			ID     string         `xml:"id,attr"`
			Label  string         `xml:"label,attr"`
			Values []gexfAttValue `xml:"attvalues>attvalue"`
			Color  struct {
				R int `xml:"r,attr"`
				G int `xml:"g,attr"`
				B int `xml:"b,attr"`
			} `xml:"http://gexf.net/1.3/viz color"`
			Position struct {
				X string `xml:"x,attr"`
				Y string `xml:"y,attr"`
			} `xml:"http://gexf.net/1.3/viz position"`
			Size struct {
				Value string `xml:"value,attr"`
			} `xml:"http://gexf.net/1.3/viz size"`
		} `xml:"nodes>node"`
		Edges []struct {
			Source string         `xml:"source,attr"`
			Target string         `xml:"target,attr"`
			Weight string         `xml:"weight,attr"`
			Values []gexfAttValue `xml:"attvalues>attvalue"`
		} `xml:"edges>edge"`
	} `xml:"graph"`
}

type gexfAttValue struct {
	For   string `xml:"for,attr"`
	Value string `xml:"value,attr"`
}

func TestGEXFRoundTrip(t *testing.T) {
	s, cases, edges := exportSnapshot()
	var buf bytes.Buffer
	if err := WriteGEXF(&buf, s, edges); err != nil {
		t.Fatal(err)
	}
	exportKeep(t, "crafted.gexf", buf.Bytes())
	raw := buf.String()
	for _, want := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`<gexf xmlns="http://gexf.net/1.3"`,
		`xmlns:viz="` + vizNS + `"`,
		`version="1.3"`,
		`defaultedgetype="undirected"`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	var doc gexfDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("parse back: %v", err)
	}
	if doc.Version != "1.3" || doc.Graph.DefaultEdgeType != "undirected" {
		t.Errorf("version %q, defaultedgetype %q", doc.Version, doc.Graph.DefaultEdgeType)
	}
	attrType := map[string]string{}
	var edgeAttrs []string
	for _, as := range doc.Graph.Attributes {
		for _, a := range as.Attrs {
			switch as.Class {
			case "node":
				attrType[a.ID] = a.Type
				if a.Title != a.ID {
					t.Errorf("attribute %q titled %q", a.ID, a.Title)
				}
			case "edge":
				edgeAttrs = append(edgeAttrs, a.ID+":"+a.Type)
			}
		}
	}
	for _, a := range exportAttrTypes {
		if got := attrType[a.name]; got != a.gexf {
			t.Errorf("attribute %s: type %q, want %q", a.name, got, a.gexf)
		}
	}
	if len(attrType) != len(exportAttrTypes) {
		t.Errorf("%d node attributes, want %d", len(attrType), len(exportAttrTypes))
	}
	if strings.Join(edgeAttrs, ",") != "kind:string" {
		t.Errorf("edge attributes %v, want [kind:string]", edgeAttrs)
	}

	if len(doc.Graph.Nodes) != len(cases) {
		t.Fatalf("%d nodes, want %d", len(doc.Graph.Nodes), len(cases))
	}
	for i, c := range cases {
		n := doc.Graph.Nodes[i]
		t.Run(c.xmlHand, func(t *testing.T) {
			if want := strconv.FormatInt(c.node.NodeID, 10); n.ID != want {
				t.Errorf("id %q, want %q", n.ID, want)
			}
			if n.Label != c.xmlName {
				t.Errorf("label %q, want %q", n.Label, c.xmlName)
			}
			got := map[string]string{}
			for _, v := range n.Values {
				got[v.For] = canon(attrType[v.For], v.Value)
			}
			for k, want := range wantAttrs(c) {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			// Gephi's y axis points up; the map's points down.
			wantX, wantY := (c.node.X-0.5)*GEXFScale, (0.5-c.node.Y)*GEXFScale
			x, errX := strconv.ParseFloat(n.Position.X, 64)
			y, errY := strconv.ParseFloat(n.Position.Y, 64)
			if errX != nil || errY != nil || x != wantX || y != wantY {
				t.Errorf("viz:position (%s, %s), want (%v, %v)", n.Position.X, n.Position.Y, wantX, wantY)
			}
			rgb := CommunityRGB(c.node.Community)
			if n.Color.R != int(rgb[0]) || n.Color.G != int(rgb[1]) || n.Color.B != int(rgb[2]) {
				t.Errorf("viz:color %v, want %v", n.Color, rgb)
			}
			if n.Size.Value == "" {
				t.Errorf("no viz:size")
			}
		})
	}
	if len(doc.Graph.Edges) != len(edges) {
		t.Fatalf("%d edges, want %d", len(doc.Graph.Edges), len(edges))
	}
	for i, e := range edges {
		got := doc.Graph.Edges[i]
		w, err := strconv.ParseFloat(got.Weight, 64)
		kind := ""
		for _, v := range got.Values {
			if v.For == "kind" {
				kind = v.Value
			}
		}
		if got.Source != strconv.FormatInt(e.Source, 10) || got.Target != strconv.FormatInt(e.Target, 10) ||
			err != nil || w != e.Weight || kind != e.Kind {
			t.Errorf("edge %d = %s–%s %s %q, want %d–%d %v %q", i, got.Source, got.Target, got.Weight, kind,
				e.Source, e.Target, e.Weight, e.Kind)
		}
	}
	// Same community, same colour; different communities, different colours.
	if CommunityRGB(0) == CommunityRGB(1) || CommunityRGB(12) == CommunityRGB(13) {
		t.Errorf("neighbouring communities share a colour")
	}
}

func TestCSVRoundTrip(t *testing.T) {
	s, cases, edges := exportSnapshot()
	t.Run("nodes", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteNodesCSV(&buf, s); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("parse back: %v", err)
		}
		wantHeader := "node_id,handle,display_name,community,community_label,degree,strength,pagerank,betweenness,broker,isolated,peripheral,x,y"
		if got := strings.Join(rows[0], ","); got != wantHeader {
			t.Errorf("header %q, want %q", got, wantHeader)
		}
		if len(rows) != len(cases)+1 {
			t.Fatalf("%d rows, want %d", len(rows), len(cases)+1)
		}
		for i, c := range cases {
			a := wantAttrs(c)
			want := []string{strconv.FormatInt(c.node.NodeID, 10), c.csvHand, c.csvName, a["community"],
				csvWantLabel(c.wantComm), a["degree"], a["strength"], a["pagerank"], a["betweenness"],
				a["broker"], a["isolated"], a["peripheral"], a["x"], a["y"]}
			got := rows[i+1]
			if len(got) != len(want) {
				t.Fatalf("row %d has %d cells, want %d", i+1, len(got), len(want))
			}
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("row %d %s = %q, want %q", i+1, rows[0][k], got[k], want[k])
				}
			}
		}
	})
	t.Run("edges", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteEdgesCSV(&buf, s, edges); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("parse back: %v", err)
		}
		if got := strings.Join(rows[0], ","); got != "source,target,source_handle,target_handle,weight,kind" {
			t.Errorf("header %q", got)
		}
		handle := map[int64]string{}
		for _, c := range cases {
			handle[c.node.NodeID] = c.csvHand
		}
		wantKind := []string{"declared", "interaction", "'=evil<&>", ""}
		if len(rows) != len(edges)+1 {
			t.Fatalf("%d rows, want %d", len(rows), len(edges)+1)
		}
		for i, e := range edges {
			want := []string{strconv.FormatInt(e.Source, 10), strconv.FormatInt(e.Target, 10),
				handle[e.Source], handle[e.Target], strconv.FormatFloat(e.Weight, 'g', -1, 64), wantKind[i]}
			if got := rows[i+1]; strings.Join(got, "\x1f") != strings.Join(want, "\x1f") {
				t.Errorf("row %d = %q, want %q", i+1, got, want)
			}
		}
	})
}

// exportKeep writes an export to $EXPORT_DIR, when set, for a person to open
// in Gephi or networkx.
func exportKeep(t *testing.T, name string, b []byte) {
	t.Helper()
	if dir := os.Getenv("EXPORT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// csvWantLabel: community labels go through the same formula guard.
func csvWantLabel(l string) string {
	if l != "" && strings.ContainsRune("=+-@\t\r", rune(l[0])) {
		return "'" + l
	}
	return l
}

func TestExportRejectsUnknownNodes(t *testing.T) {
	s, _, _ := exportSnapshot()
	bad := []ExportEdge{{Source: 11, Target: 99, Weight: 1}}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"graphml":   func(b *bytes.Buffer) error { return WriteGraphML(b, s, bad) },
		"gexf":      func(b *bytes.Buffer) error { return WriteGEXF(b, s, bad) },
		"edges csv": func(b *bytes.Buffer) error { return WriteEdgesCSV(b, s, bad) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := write(&buf); err == nil {
				t.Fatal("no error for an edge to a node not in the snapshot")
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing; want nothing", buf.Len())
			}
		})
	}
	t.Run("duplicate node", func(t *testing.T) {
		dup := *s
		dup.Nodes = append(dup.Nodes[:len(dup.Nodes):len(dup.Nodes)], dup.Nodes[0])
		if err := WriteGraphML(&bytes.Buffer{}, &dup, nil); err == nil {
			t.Error("no error for a node listed twice")
		}
	})
	t.Run("nil snapshot", func(t *testing.T) {
		if err := WriteNodesCSV(&bytes.Buffer{}, nil); err == nil {
			t.Error("no error for a nil snapshot")
		}
	})
}

// TestExportLarge exports the 1,005-person demo network with a layout and
// made-up metrics in every format, parses each back and logs sizes and times.
func TestExportLarge(t *testing.T) {
	g := layoutEmailEuCore(t)
	pos := Layout(g, nil, 1, 100)
	rng := rand.New(rand.NewPCG(1, 1))
	s := &Snapshot{ID: 1, ComputedAt: time.Now()}
	for c := 0; c < 40; c++ {
		s.Communities = append(s.Communities, CommunityMetrics{ID: c, Label: "Department " + strconv.Itoa(c)})
	}
	for i := 0; i < g.N; i++ {
		s.Nodes = append(s.Nodes, NodeMetrics{
			NodeID: int64(1000 + i), Handle: "person-" + strconv.Itoa(i), DisplayName: "Person Number " + strconv.Itoa(i),
			Community: rng.IntN(40), Degree: g.Degree(i), Strength: float64(g.Degree(i)) * rng.Float64(),
			PageRank: rng.Float64() / 1000, Betweenness: rng.Float64(), Broker: rng.IntN(20) == 0,
			Isolated: g.Degree(i) == 0, X: pos[i][0], Y: pos[i][1],
		})
	}
	var edges []ExportEdge
	for _, e := range g.Edges() {
		edges = append(edges, ExportEdge{Source: int64(1000 + e.U), Target: int64(1000 + e.V),
			Weight: math.Round(rng.Float64()*1000) / 100, Kind: "interaction"})
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
		check func([]byte) error
	}{
		{"graphml", func(b *bytes.Buffer) error { return WriteGraphML(b, s, edges) },
			func(b []byte) error { var d graphmlDoc; return xml.Unmarshal(b, &d) }},
		{"gexf", func(b *bytes.Buffer) error { return WriteGEXF(b, s, edges) },
			func(b []byte) error { var d gexfDoc; return xml.Unmarshal(b, &d) }},
		{"nodes csv", func(b *bytes.Buffer) error { return WriteNodesCSV(b, s) },
			func(b []byte) error { _, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); return err }},
		{"edges csv", func(b *bytes.Buffer) error { return WriteEdgesCSV(b, s, edges) },
			func(b []byte) error { _, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); return err }},
	} {
		t.Run(f.name, func(t *testing.T) {
			var buf bytes.Buffer
			start := time.Now()
			if err := f.write(&buf); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if err := f.check(buf.Bytes()); err != nil {
				t.Fatalf("parse back: %v", err)
			}
			t.Logf("%d nodes, %d edges: %d bytes in %v", len(s.Nodes), len(edges), buf.Len(), took)
			if dir := os.Getenv("EXPORT_DIR"); dir != "" { // to open in Gephi or networkx
				name := filepath.Join(dir, "large-"+strings.ReplaceAll(f.name, " ", "."))
				if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if took > time.Second && !layoutRace() {
				t.Errorf("export took %v, want well under 1 s", took)
			}
		})
	}
}
