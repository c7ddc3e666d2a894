package components

import (
	"fmt"
	"strconv"
	"time"
)

// The network analytics pages (/network/…). Their maps are SVG drawn on the
// server: the handlers compute every position, so the view models below carry
// numbers ready to print and people's names only as element text (titles and
// labels), which templ escapes.

// GraphHeader is what every network analytics page shares.
type GraphHeader struct {
	Page       Page
	Sub        string // the current sub-page: me, pulse, communities, map, trends, access
	Window     string // "90d" or "all"
	Windowed   bool   // the page offers the window switch
	Ready      bool   // a snapshot exists for the window
	ComputedAt time.Time
	TookMS     int
	Action     string // the page's path, for the window form
}

// WindowLabel is the window in words.
func (h GraphHeader) WindowLabel() string {
	if h.Window == "all" {
		return "all time"
	}
	return "the last 90 days"
}

// SVGNode is one circle of a map.
type SVGNode struct {
	Index   int // position on the organisation map (data-i), for graph.js
	X, Y, R float64
	Fill    string // #rrggbb, computed by the server
	Class   string
	Handle  string
	Name    string
	Href    string // where a click goes without JavaScript
	Label   string // text drawn next to the circle ("" for none)
	LabelX  float64
	LabelY  float64
	Anchor  string // text-anchor of the label
	// Metrics for the organisation map's side panel (data-* attributes).
	Community   int
	Degree      int
	Strength    float64
	PageRank    float64
	Betweenness float64
	Reach       [3]int
	Broker      bool
	Isolated    bool
}

// SVGLine is one straight line of a map.
type SVGLine struct {
	X1, Y1, X2, Y2 float64
	Width          float64
	Class          string
}

// SVGPath is many lines drawn as one path (the organisation map's ties, in a
// few bands of weight, so 16,000 ties are four elements rather than 16,000).
type SVGPath struct {
	D       string
	Width   float64
	Opacity float64
	Class   string
}

// ViewBox is an SVG viewBox.
type ViewBox struct{ X, Y, W, H float64 }

// String is the attribute value.
func (v ViewBox) String() string {
	return num(v.X) + " " + num(v.Y) + " " + num(v.W) + " " + num(v.H)
}

// CountView is a count of people that may be too small to show.
type CountView struct {
	N     int
	Shown bool
	Note  string // why it is not shown, when it is not
}

// Text is the count in words ("fewer than 5" when it is not shown).
func (c CountView) Text() string {
	if c.Shown {
		return strconv.Itoa(c.N)
	}
	return c.Note
}

// CommunityRow is one public community's figures.
type CommunityRow struct {
	ID       int
	Label    string
	Size     int
	Internal float64
	External float64
	EI       float64
	Silo     bool
	Href     string // the community's page
}

// ReachView is the viewer's own place in the network.
type ReachView struct {
	Hops       [3]int
	Degree     int
	Community  string // the public community's label
	Percentile int    // share of people with lower betweenness, 0..100
	Broker     bool
	Isolated   bool
}

// BridgeItem is someone who shares a skill with the viewer but sits far away.
type BridgeItem struct {
	Person PersonLink
	Shared []string
	Hops   int // 0: not connected at all
}

// HopsText says how far away.
func (b BridgeItem) HopsText() string {
	if b.Hops == 0 {
		return "not connected to you yet"
	}
	return fmt.Sprintf("%d hops away", b.Hops)
}

// EgoMap is the viewer's 1–2 hop network.
type EgoMap struct {
	Nodes      []SVGNode
	Lines      []SVGLine
	Hop1, Hop2 int // people at one and two hops in all
	Shown1     int // drawn at one hop
	Shown2     int // drawn at two hops
	Hop1People []PersonLink
}

// CountsText is the size of the ego network in words.
func (e EgoMap) CountsText() string {
	s := plural(e.Hop1, "person", "people") + " one hop away, " + plural(e.Hop2, "person", "people") + " two hops away"
	if e.Shown1 < e.Hop1 || e.Shown2 < e.Hop2 {
		s += fmt.Sprintf(" (the map draws your %d strongest direct ties and %d people beyond them)", e.Shown1, e.Shown2)
	}
	return s + "."
}

// MyNetworkView is /network.
type MyNetworkView struct {
	H           GraphHeader
	Ego         EgoMap
	Reach       *ReachView // nil: not computed yet (or not in the snapshot yet)
	Communities []CommunityItem
	Bridges     []BridgeItem
	Suggestions []SuggestionItem
	Skills      int // how many skills the viewer lists
}

// ChangesView is what changed since the last weekly snapshot.
type ChangesView struct {
	Since             time.Time
	CommunitiesBefore int
	CommunitiesNow    int
	ModularityBefore  float64
	ModularityNow     float64
	NewSilos          []string
	Splits            []string
	Merges            []string
}

// PulseView is /network/pulse.
type PulseView struct {
	H           GraphHeader
	MinGroup    int
	People      int
	Communities int
	Modularity  float64
	Silos       []CommunityRow
	Brokers     CountView
	Isolated    CountView
	Newcomers   CountView
	Changes     *ChangesView // nil: no earlier weekly snapshot
	Tags        []TagTrendRow
	OpenAsks    CountView // needs nobody has answered for a day or more
}

// TagTrendRow is a tag people used this week, against the week before.
type TagTrendRow struct {
	Tag         string
	Now, Before int
}

// CommunityEdge is a tie between two communities on the community map.
type CommunityEdge struct {
	X1, Y1, X2, Y2 float64
	Width          float64
	Weight         float64
}

// CommunityMapView is /network/communities.
type CommunityMapView struct {
	H        GraphHeader
	MinGroup int
	Nodes    []SVGNode
	Edges    []CommunityEdge
	List     []CommunityRow
}

// CommunityTie is a tie from one community to another.
type CommunityTie struct {
	ID     int
	Label  string
	Weight float64
}

// CommunityDetailView is /network/communities/{id}.
type CommunityDetailView struct {
	H           GraphHeader
	MinGroup    int
	C           CommunityRow
	Ties        []CommunityTie
	ShowMembers bool // people analysts only
	Members     []PersonLink
}

// LegendItem is one detected community on the organisation map.
type LegendItem struct {
	ID       int
	Label    string
	Size     int
	Fill     string
	Selected bool
}

// PanelView is the selected person on the organisation map.
type PanelView struct {
	Handle      string
	Name        string
	Community   string
	Degree      int
	Strength    float64
	PageRank    float64
	Betweenness float64
	Reach       [3]int
	Broker      bool
	Isolated    bool
	Peripheral  bool
}

// MapFilter is the organisation map's and table's filter form.
type MapFilter struct {
	Window    string
	Community string // "" for all, else the detected community's id
	Kind      string // "" for all kinds
	Focus     string
	Person    string
}

// OrgMapView is /network/map.
type OrgMapView struct {
	H               GraphHeader
	Filter          MapFilter
	Kinds           []string
	Legend          []LegendItem
	ViewBox         ViewBox
	Nodes           []SVGNode
	Edges           []SVGPath
	FocusEdges      SVGPath
	Panel           *PanelView
	Error           string
	ErrorField      string
	People          int
	Ties            int
	TiesShown       int
	BetweennessNote string
	TableURL        string
	TiePairs        string // the drawn ties as "i j i j …" circle indices (data-ties)
}

// CountsText is the map's size in words.
func (v OrgMapView) CountsText() string {
	s := plural(v.People, "person", "people") + ", " + plural(v.Ties, "tie", "ties")
	if v.TiesShown < v.Ties {
		s += fmt.Sprintf(" (the %d strongest drawn)", v.TiesShown)
	}
	return s + "."
}

// MetricsRow is one person in the metrics table.
type MetricsRow struct {
	Rank        int
	Handle      string
	Name        string
	Community   string
	Fill        string
	Degree      int
	Strength    float64
	PageRank    float64
	Betweenness float64
	Broker      bool
	Isolated    bool
}

// SortLink is a column header of the metrics table.
type SortLink struct {
	Key   string
	Label string
	Href  string
	Sort  string // aria-sort: ascending, descending or none
}

// MetricsTableView is /network/map/table.
type MetricsTableView struct {
	H       GraphHeader
	Filter  MapFilter
	Kinds   []string
	Legend  []LegendItem
	Sort    string
	Dir     string
	Columns []SortLink
	Rows    []MetricsRow
	Page    int
	Pages   int
	Total   int
	PrevURL string
	NextURL string
	MapURL  string
}

// ChartPoint is one week on a trend chart.
type ChartPoint struct {
	X, Y       float64
	Label      string
	Suppressed bool // a count of people below MIN_GROUP_SIZE: drawn hollow, not on the line
}

// LineChart is one server-rendered trend chart.
type LineChart struct {
	ID       string
	Title    string
	Desc     string
	Width    float64
	Height   float64
	Points   []ChartPoint
	Lines    []string // polyline points, one per run of shown points
	YMin     string
	YMax     string
	First    string
	Last     string
	BandY    float64 // top of the "fewer than N" band (0: none)
	BandText string
	PlotTop  float64
	PlotBot  float64
	PlotLeft float64
	PlotRite float64
}

// TrendRow is one week in the trends table.
type TrendRow struct {
	Week       time.Time
	Density    string
	Modularity string
	Silos      string
	Isolated   string
}

// TrendsView is /network/trends.
type TrendsView struct {
	H      GraphHeader
	Charts []LineChart
	Rows   []TrendRow
	Weeks  int
}

// AuditItem is one audited view or export.
type AuditItem struct {
	Actor  string
	Action string
	Detail string
	At     time.Time
}

// AccessView is /network/access.
type AccessView struct {
	H        GraphHeader
	CanGrant bool
	Handle   string
	Error    string
	Audit    []AuditItem
}

// num prints a coordinate for SVG: one decimal is finer than a pixel.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// num3 prints a metric for people and data attributes.
func num3(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// metric prints a small metric (PageRank, betweenness) with enough digits.
func metric(f float64) string {
	if f != 0 && f < 0.001 && f > -0.001 {
		return strconv.FormatFloat(f, 'e', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

func itoa(n int) string { return strconv.Itoa(n) }

func reachText(r [3]int) string {
	return fmt.Sprintf("%d,%d,%d", r[0], r[1], r[2])
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func graphBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func subCurrent(h GraphHeader, sub string) string {
	if h.Sub == sub {
		return "page"
	}
	return ""
}

// roleText names what stands out about a person's position, if anything.
func roleText(broker, isolated, peripheral bool) string {
	switch {
	case broker:
		return "broker"
	case isolated:
		return "isolated"
	case peripheral:
		return "peripheral"
	}
	return "—"
}

func pointClass(p ChartPoint) string {
	if p.Suppressed {
		return "pt suppressed"
	}
	return "pt"
}
