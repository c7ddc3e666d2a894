package graph

import (
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ExportEdge is one undirected tie in an export, between two people named by
// their node ids (NodeMetrics.NodeID).
type ExportEdge struct {
	Source, Target int64
	Weight         float64
	Kind           string // e.g. declared, interaction
}

// exportAttr describes one node attribute shared by the GraphML and GEXF
// writers, so the two formats can never drift apart.
type exportAttr struct {
	name    string
	graphml string // GraphML attr.type
	gexf    string // GEXF attribute type
	value   func(n *NodeMetrics, label string) string
}

var nodeAttrs = []exportAttr{
	{"handle", "string", "string", func(n *NodeMetrics, _ string) string { return xmlSafe(n.Handle) }},
	{"display_name", "string", "string", func(n *NodeMetrics, _ string) string { return xmlSafe(n.DisplayName) }},
	{"community", "int", "integer", func(n *NodeMetrics, _ string) string { return strconv.Itoa(n.Community) }},
	{"community_label", "string", "string", func(_ *NodeMetrics, l string) string { return xmlSafe(l) }},
	{"degree", "int", "integer", func(n *NodeMetrics, _ string) string { return strconv.Itoa(n.Degree) }},
	{"strength", "double", "double", func(n *NodeMetrics, _ string) string { return xmlFloat(n.Strength) }},
	{"pagerank", "double", "double", func(n *NodeMetrics, _ string) string { return xmlFloat(n.PageRank) }},
	{"betweenness", "double", "double", func(n *NodeMetrics, _ string) string { return xmlFloat(n.Betweenness) }},
	{"broker", "boolean", "boolean", func(n *NodeMetrics, _ string) string { return strconv.FormatBool(n.Broker) }},
	{"isolated", "boolean", "boolean", func(n *NodeMetrics, _ string) string { return strconv.FormatBool(n.Isolated) }},
	{"peripheral", "boolean", "boolean", func(n *NodeMetrics, _ string) string { return strconv.FormatBool(n.Peripheral) }},
	{"x", "double", "double", func(n *NodeMetrics, _ string) string { return xmlFloat(n.X) }},
	{"y", "double", "double", func(n *NodeMetrics, _ string) string { return xmlFloat(n.Y) }},
}

// GEXFScale maps layout positions (0..1, y down as on screen) to GEXF viz
// positions: centred on the origin, y up as Gephi draws it, and wide enough
// that Gephi's default node sizes do not cover the map.
const GEXFScale = 1000

// checkExport validates the edges against the snapshot before anything is
// written, so a bad call never leaves half a file in an HTTP response.
func checkExport(s *Snapshot, edges []ExportEdge) error {
	if s == nil {
		return fmt.Errorf("graph: export: nil snapshot")
	}
	ids := make(map[int64]struct{}, len(s.Nodes))
	for _, n := range s.Nodes {
		if _, dup := ids[n.NodeID]; dup {
			return fmt.Errorf("graph: export: node %d appears twice", n.NodeID)
		}
		ids[n.NodeID] = struct{}{}
	}
	for _, e := range edges {
		_, okS := ids[e.Source]
		_, okT := ids[e.Target]
		if !okS || !okT {
			return fmt.Errorf("graph: export: edge %d–%d names a node not in the snapshot", e.Source, e.Target)
		}
	}
	return nil
}

// communityLabel is the label of a node's community, or "" when it has none.
func communityLabel(s *Snapshot, c int) string {
	if c >= 0 && c < len(s.Communities) {
		return s.Communities[c].Label
	}
	return ""
}

// WriteGraphML writes the snapshot as GraphML (undirected; every node metric as
// a typed <data> attribute; edges with weight and kind), readable by networkx
// (read_graphml), Gephi, yEd and igraph. Node ids are the people's node ids.
func WriteGraphML(w io.Writer, s *Snapshot, edges []ExportEdge) error {
	if err := checkExport(s, edges); err != nil {
		return err
	}
	b := bufio.NewWriterSize(w, 64<<10)
	b.WriteString(xml.Header)
	b.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns"` +
		` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
		` xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">` + "\n")
	for _, a := range nodeAttrs {
		fmt.Fprintf(b, "  <key id=%q for=\"node\" attr.name=%q attr.type=%q/>\n", a.name, a.name, a.graphml)
	}
	b.WriteString("  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n")
	b.WriteString("  <key id=\"kind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n")
	b.WriteString("  <graph id=\"G\" edgedefault=\"undirected\">\n")
	for i := range s.Nodes {
		n := &s.Nodes[i]
		label := communityLabel(s, n.Community)
		fmt.Fprintf(b, "    <node id=\"%d\">", n.NodeID)
		for _, a := range nodeAttrs {
			b.WriteString(`<data key="`)
			b.WriteString(a.name)
			b.WriteString(`">`)
			escape(b, a.value(n, label))
			b.WriteString(`</data>`)
		}
		b.WriteString("</node>\n")
	}
	for i, e := range edges {
		fmt.Fprintf(b, "    <edge id=\"e%d\" source=\"%d\" target=\"%d\"><data key=\"weight\">%s</data><data key=\"kind\">",
			i, e.Source, e.Target, xmlFloat(e.Weight))
		escape(b, xmlSafe(e.Kind))
		b.WriteString("</data></edge>\n")
	}
	b.WriteString("  </graph>\n</graphml>\n")
	return b.Flush()
}

// WriteGEXF writes the snapshot as GEXF 1.3 for Gephi: node labels are display
// names, every metric is a typed node attribute, edges are undirected with
// weights, and each node carries viz:position (the server-side layout, see
// GEXFScale), viz:color (by community, CommunityRGB) and viz:size (by
// betweenness), so Gephi opens the file already laid out and coloured.
func WriteGEXF(w io.Writer, s *Snapshot, edges []ExportEdge) error {
	if err := checkExport(s, edges); err != nil {
		return err
	}
	b := bufio.NewWriterSize(w, 64<<10)
	b.WriteString(xml.Header)
	b.WriteString(`<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz"` +
		` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
		` xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">` + "\n")
	b.WriteString("  <meta")
	if !s.ComputedAt.IsZero() {
		fmt.Fprintf(b, " lastmodifieddate=%q", s.ComputedAt.UTC().Format("2006-01-02"))
	}
	b.WriteString(">\n    <creator>Node Community</creator>\n    <description>")
	window := "all time"
	if s.WindowDays > 0 {
		window = fmt.Sprintf("the last %d days", s.WindowDays)
	}
	escape(b, fmt.Sprintf("Organisation network over %s (snapshot %d)", window, s.ID))
	b.WriteString("</description>\n  </meta>\n")
	b.WriteString("  <graph defaultedgetype=\"undirected\" mode=\"static\">\n")
	b.WriteString("    <attributes class=\"node\" mode=\"static\">\n")
	for _, a := range nodeAttrs {
		fmt.Fprintf(b, "      <attribute id=%q title=%q type=%q/>\n", a.name, a.name, a.gexf)
	}
	b.WriteString("    </attributes>\n")
	b.WriteString("    <attributes class=\"edge\" mode=\"static\">\n")
	b.WriteString("      <attribute id=\"kind\" title=\"kind\" type=\"string\"/>\n")
	b.WriteString("    </attributes>\n")
	b.WriteString("    <nodes>\n")
	for i := range s.Nodes {
		n := &s.Nodes[i]
		label := communityLabel(s, n.Community)
		fmt.Fprintf(b, "      <node id=\"%d\" label=\"", n.NodeID)
		escape(b, xmlSafe(n.DisplayName))
		b.WriteString("\"><attvalues>")
		for _, a := range nodeAttrs {
			b.WriteString(`<attvalue for="`)
			b.WriteString(a.name)
			b.WriteString(`" value="`)
			escape(b, a.value(n, label))
			b.WriteString(`"/>`)
		}
		rgb := CommunityRGB(n.Community)
		fmt.Fprintf(b, "</attvalues><viz:color r=\"%d\" g=\"%d\" b=\"%d\"/><viz:position x=\"%s\" y=\"%s\" z=\"0\"/><viz:size value=\"%s\"/></node>\n",
			rgb[0], rgb[1], rgb[2], xmlFloat(gexfX(n.X)), xmlFloat(gexfY(n.Y)), xmlFloat(gexfSize(n.Betweenness)))
	}
	b.WriteString("    </nodes>\n    <edges>\n")
	for i, e := range edges {
		fmt.Fprintf(b, "      <edge id=\"%d\" source=\"%d\" target=\"%d\" weight=\"%s\"><attvalues><attvalue for=\"kind\" value=\"",
			i, e.Source, e.Target, xmlFloat(e.Weight))
		escape(b, xmlSafe(e.Kind))
		b.WriteString("\"/></attvalues></edge>\n")
	}
	b.WriteString("    </edges>\n  </graph>\n</gexf>\n")
	return b.Flush()
}

func gexfX(x float64) float64 { return (x - 0.5) * GEXFScale }
func gexfY(y float64) float64 { return (0.5 - y) * GEXFScale }

// gexfSize sizes nodes by betweenness (normalised 0..1) as the organisation
// map does, with a floor so that nobody disappears.
func gexfSize(b float64) float64 {
	if !(b > 0) {
		b = 0
	}
	return 4 + 36*math.Min(b, 1)
}

// WriteNodesCSV writes one row per person with the header
// node_id,handle,display_name,community,community_label,degree,strength,
// pagerank,betweenness,broker,isolated,peripheral,x,y.
//
// Text that people typed (handle, display name, community label) is guarded
// against CSV formula injection: a cell that starts with =, +, -, @, tab or
// carriage return gets a leading apostrophe, so a spreadsheet shows it as text
// instead of evaluating it. Readers that want the raw value strip one leading
// apostrophe from those columns. Numeric columns are never prefixed.
func WriteNodesCSV(w io.Writer, s *Snapshot) error {
	if s == nil {
		return fmt.Errorf("graph: export: nil snapshot")
	}
	c := csv.NewWriter(w)
	if err := c.Write([]string{"node_id", "handle", "display_name", "community", "community_label",
		"degree", "strength", "pagerank", "betweenness", "broker", "isolated", "peripheral", "x", "y"}); err != nil {
		return err
	}
	row := make([]string, 14)
	for i := range s.Nodes {
		n := &s.Nodes[i]
		row[0] = strconv.FormatInt(n.NodeID, 10)
		row[1] = csvText(n.Handle)
		row[2] = csvText(n.DisplayName)
		row[3] = strconv.Itoa(n.Community)
		row[4] = csvText(communityLabel(s, n.Community))
		row[5] = strconv.Itoa(n.Degree)
		row[6] = csvFloat(n.Strength)
		row[7] = csvFloat(n.PageRank)
		row[8] = csvFloat(n.Betweenness)
		row[9] = strconv.FormatBool(n.Broker)
		row[10] = strconv.FormatBool(n.Isolated)
		row[11] = strconv.FormatBool(n.Peripheral)
		row[12] = csvFloat(n.X)
		row[13] = csvFloat(n.Y)
		if err := c.Write(row); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// WriteEdgesCSV writes one row per tie with the header
// source,target,source_handle,target_handle,weight,kind. Handles and kinds are
// guarded against formula injection as in WriteNodesCSV.
func WriteEdgesCSV(w io.Writer, s *Snapshot, edges []ExportEdge) error {
	if err := checkExport(s, edges); err != nil {
		return err
	}
	handles := make(map[int64]string, len(s.Nodes))
	for _, n := range s.Nodes {
		handles[n.NodeID] = csvText(n.Handle)
	}
	c := csv.NewWriter(w)
	if err := c.Write([]string{"source", "target", "source_handle", "target_handle", "weight", "kind"}); err != nil {
		return err
	}
	row := make([]string, 6)
	for _, e := range edges {
		row[0] = strconv.FormatInt(e.Source, 10)
		row[1] = strconv.FormatInt(e.Target, 10)
		row[2] = handles[e.Source]
		row[3] = handles[e.Target]
		row[4] = csvFloat(e.Weight)
		row[5] = csvText(e.Kind)
		if err := c.Write(row); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// csvText makes user text safe for spreadsheets (see WriteNodesCSV).
func csvText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

func csvFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// xmlFloat spells a float as XML Schema's xs:double does (INF, -INF, NaN),
// shortest form that parses back to the same value.
func xmlFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// xmlSafe drops what XML 1.0 cannot carry at all (control characters other
// than tab, newline and carriage return; U+FFFE, U+FFFF; lone surrogates and
// invalid UTF-8), rather than letting a display name make the whole file
// unreadable. encoding/xml would substitute U+FFFD instead; dropping keeps
// names the way people see them.
func xmlSafe(s string) string {
	clean := true
	for _, r := range s {
		if !xmlChar(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && xmlChar(r) {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// xmlChar is XML 1.0's Char production.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// escape writes s escaped for both element text and attribute values
// (encoding/xml escapes quotes, and tab/newline/CR as character references so
// attribute-value normalisation cannot eat them).
func escape(w io.Writer, s string) {
	xml.EscapeText(w, []byte(s)) //nolint:errcheck // bufio.Writer keeps the first error for Flush
}

// CommunityRGB is the colour of community c, shared by the exports and the
// maps so a community looks the same in Gephi and on the page: Tableau 10 for
// the first ten, then hues spread by the golden angle; grey for no community.
func CommunityRGB(c int) [3]uint8 {
	if c < 0 {
		return [3]uint8{0x9a, 0x9a, 0x9a}
	}
	if c < len(tableau10) {
		return tableau10[c]
	}
	h := math.Mod(float64(c-len(tableau10))*137.508+17, 360)
	return hslToRGB(h, 0.55, 0.5)
}

var tableau10 = [][3]uint8{
	{0x4e, 0x79, 0xa7}, {0xf2, 0x8e, 0x2b}, {0xe1, 0x57, 0x59}, {0x76, 0xb7, 0xb2}, {0x59, 0xa1, 0x4f},
	{0xed, 0xc9, 0x48}, {0xb0, 0x7a, 0xa1}, {0xff, 0x9d, 0xa7}, {0x9c, 0x75, 0x5f}, {0xba, 0xb0, 0xac},
}

func hslToRGB(h, s, l float64) [3]uint8 {
	c := (1 - math.Abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return [3]uint8{to(r), to(g), to(b)}
}
