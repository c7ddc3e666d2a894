// Command orgdata turns SNAP's email-Eu-core dataset (a real research
// institution: 1,005 people, 25,571 e-mail ties, 42 departments) into files
// `server import` reads: people.csv with generated names, handles, skills,
// titles and places, one community per department, and the edge list copied
// unchanged. The people are anonymous numbers in the dataset; everything
// personal here comes from a generator with a fixed seed, so a re-run writes
// the same bytes.
//
// Usage (from the repository root):
//
//	go run ./cmd/orgdata [-src ../shared/datasets/email-eu-core] [-out internal/demo/data]
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	edgesFile  = "email-Eu-core.txt"
	labelsFile = "email-Eu-core-department-labels.txt"
	peopleFile = "people.csv"
	emailHost  = "demo.nodecommunity.test"
)

// departments are the 42 department labels (0–41) of the dataset, given names
// that fit a large research institution, each with the skills its people tend
// to have.
var departments = []struct {
	name   string
	skills []string
}{
	{"Directorate", []string{"strategy", "facilitation", "writing"}},
	{"Human Resources", []string{"hiring", "coaching", "employment law"}},
	{"Finance and Budget", []string{"finance", "budgeting", "auditing"}},
	{"Legal Affairs", []string{"contracts", "data protection", "regulation"}},
	{"Procurement", []string{"tendering", "contracts", "negotiation"}},
	{"IT Infrastructure", []string{"linux", "networking", "kubernetes"}},
	{"Software Engineering", []string{"go", "python", "testing"}},
	{"Data Services", []string{"postgres", "data engineering", "metadata"}},
	{"Library and Archives", []string{"archiving", "bibliometrics", "open access"}},
	{"Communications", []string{"writing", "editing", "social media"}},
	{"Scientific Computing", []string{"hpc", "numerical methods", "c++"}},
	{"Theoretical Physics", []string{"modelling", "mathematics", "simulation"}},
	{"Experimental Physics", []string{"instrumentation", "lab safety", "spectroscopy"}},
	{"Materials Science", []string{"microscopy", "metallurgy", "spectroscopy"}},
	{"Nuclear Safety", []string{"reactor physics", "risk assessment", "regulation"}},
	{"Radiation Protection", []string{"dosimetry", "lab safety", "risk assessment"}},
	{"Chemistry", []string{"analytical chemistry", "mass spectrometry", "lab safety"}},
	{"Biology", []string{"genomics", "microbiology", "bioinformatics"}},
	{"Environmental Monitoring", []string{"air quality", "sensors", "gis"}},
	{"Climate Research", []string{"climate modelling", "statistics", "python"}},
	{"Energy Systems", []string{"energy modelling", "grid analysis", "optimisation"}},
	{"Transport Research", []string{"mobility", "emissions testing", "modelling"}},
	{"Health and Consumer Protection", []string{"toxicology", "epidemiology", "risk assessment"}},
	{"Food Safety", []string{"food chemistry", "traceability", "lab safety"}},
	{"Agriculture", []string{"agronomy", "remote sensing", "gis"}},
	{"Earth Observation", []string{"remote sensing", "satellite data", "machine learning"}},
	{"Space Applications", []string{"navigation", "signal processing", "satellite data"}},
	{"Security Technologies", []string{"border security", "biometrics", "risk assessment"}},
	{"Cybersecurity", []string{"security", "cryptography", "incident response"}},
	{"Economics and Statistics", []string{"econometrics", "statistics", "r"}},
	{"Policy Analysis", []string{"policy analysis", "impact assessment", "writing"}},
	{"Innovation and Growth", []string{"innovation", "foresight", "economics"}},
	{"Education and Training", []string{"training", "curriculum design", "facilitation"}},
	{"Digital Economy", []string{"platform economics", "data policy", "ai ethics"}},
	{"Water Resources", []string{"hydrology", "gis", "modelling"}},
	{"Marine Research", []string{"oceanography", "fisheries", "statistics"}},
	{"Reference Materials", []string{"metrology", "quality assurance", "analytical chemistry"}},
	{"Nanotechnology", []string{"nanomaterials", "microscopy", "toxicology"}},
	{"Facilities and Safety", []string{"building management", "lab safety", "logistics"}},
	{"Technology Transfer", []string{"licensing", "patents", "partnerships"}},
	{"International Relations", []string{"diplomacy", "partnerships", "languages"}},
	{"Quality Management", []string{"quality assurance", "auditing", "process design"}},
}

var (
	firstNames = []string{"Ana", "Anders", "Aoife", "Amara", "Bruno", "Bea", "Carmen", "Chiara", "Cyril", "Dev",
		"Dmitri", "Elif", "Emil", "Esi", "Farid", "Femke", "Greta", "Goran", "Hana", "Hiro", "Ines", "Ivan",
		"Jana", "Jonas", "Jorge", "Kai", "Kemal", "Lena", "Luca", "Lucia", "Mateo", "Marta", "Mikkel", "Nadia",
		"Nico", "Noor", "Oskar", "Olga", "Pablo", "Petra", "Priya", "Quentin", "Rosa", "Rui", "Sanna", "Sven",
		"Sofia", "Tariq", "Tomas", "Uma", "Vera", "Vikram", "Wanjiru", "Xavier", "Yara", "Yusuf", "Zofia", "Zeno"}
	lastNames = []string{"Almeida", "Andersen", "Berg", "Bianchi", "Costa", "Dubois", "Dvorak", "Eriksen", "Fischer",
		"Gomez", "Haddad", "Horvath", "Ito", "Jansen", "Jensen", "Kowalski", "Kovac", "Laine", "Lopez", "Moreau",
		"Muller", "Nakamura", "Novak", "Okafor", "Oliveira", "Petrov", "Popescu", "Quinn", "Rossi", "Santos",
		"Schmidt", "Silva", "Sorensen", "Szabo", "Tanaka", "Taylor", "Ungur", "Varga", "Virtanen", "Weber",
		"Wojcik", "Yilmaz", "Zeller", "Ziegler"}
	commonSkills = []string{"project management", "writing", "statistics", "python", "presenting", "mentoring",
		"data visualisation", "languages", "facilitation", "excel"}
	titles = []string{"Researcher", "Senior researcher", "Postdoctoral fellow", "PhD candidate", "Engineer",
		"Technician", "Analyst", "Scientific officer", "Project officer", "Administrator", "Coordinator", "Specialist"}
	places = []string{"Amsterdam", "Brussels", "Lyon", "Milan", "Vienna", "Remote"}
)

func main() {
	src := flag.String("src", filepath.Join("..", "shared", "datasets", "email-eu-core"), "directory of the SNAP email-Eu-core files")
	out := flag.String("out", filepath.Join("internal", "demo", "data"), "directory to write people.csv and the edge list to")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "orgdata:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	labels, err := readLabels(filepath.Join(src, labelsFile))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	if err := writePeople(&b, labels); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, peopleFile), []byte(b.String()), 0o644); err != nil {
		return err
	}
	edges, err := os.ReadFile(filepath.Join(src, edgesFile))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, edgesFile), edges, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %d people to %s and %d bytes of edges to %s\n",
		len(labels), filepath.Join(out, peopleFile), len(edges), filepath.Join(out, edgesFile))
	return nil
}

// readLabels reads "id department" lines; ids must run 0..n-1 and departments
// must be among the 42 named above.
func readLabels(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var labels []int
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"id department\"", path, line)
		}
		id, err1 := strconv.Atoi(fields[0])
		dept, err2 := strconv.Atoi(fields[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if id != len(labels) {
			return nil, fmt.Errorf("%s:%d: id %d out of order (want %d)", path, line, id, len(labels))
		}
		if dept < 0 || dept >= len(departments) {
			return nil, fmt.Errorf("%s:%d: department %d is not in 0..%d", path, line, dept, len(departments)-1)
		}
		labels = append(labels, dept)
	}
	return labels, sc.Err()
}

// writePeople writes one CSV row per person; labels[id] is their department.
func writePeople(w io.Writer, labels []int) error {
	rng := rand.New(rand.NewPCG(2017, 1005)) // fixed: the same people every run
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "handle", "display_name", "email", "skills", "community", "title", "location"}); err != nil {
		return err
	}
	for id, dept := range labels {
		first := firstNames[rng.IntN(len(firstNames))]
		last := lastNames[rng.IntN(len(lastNames))]
		handle := strings.ToLower(first + "-" + last + "-" + strconv.Itoa(id))
		d := departments[dept]
		skills := pick(rng, d.skills, 1+rng.IntN(2))
		for _, s := range pick(rng, commonSkills, rng.IntN(3)) {
			if !slices.Contains(skills, s) {
				skills = append(skills, s)
			}
		}
		err := cw.Write([]string{
			strconv.Itoa(id), handle, first + " " + last, handle + "@" + emailHost,
			strings.Join(skills, ";"), d.name,
			titles[rng.IntN(len(titles))], places[rng.IntN(len(places))],
		})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func pick(rng *rand.Rand, from []string, n int) []string {
	out := make([]string, 0, n)
	for _, i := range rng.Perm(len(from))[:n] {
		out = append(out, from[i])
	}
	return out
}
