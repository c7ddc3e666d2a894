package main

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/nodecommunity/nodecommunity/internal/config"
)

// The compose file and Dockerfile at the repository root run three peers over
// one PostgreSQL. These tests only parse them (no Docker engine is needed):
// compose-go validates the file against the Compose schema, and the checks below
// hold it to the server's configuration contract (config.Names).

const (
	composeFile = "../../docker-compose.yml"
	dockerfile  = "../../Dockerfile"
)

var composePeers = []string{"peer-1", "peer-2", "peer-3"}

// clusterVars are the variables every peer needs to join the cluster.
var clusterVars = []string{"HTTP_ADDR", "DATABASE_URL", "INSTANCE_NAME", "NATS_CLUSTER_LISTEN", "NATS_CLUSTER_PEERS", "DATA_DIR"}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	path, err := filepath.Abs(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path}},
		Environment: types.Mapping{}, // hermetic: no interpolation from the test's environment
	}
	p, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("nodecommunity", true)
	})
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return p
}

// serviceEnv is a service's environment as plain strings; a variable without a
// value (taken from the host at `docker compose up`) is an error.
func serviceEnv(t *testing.T, s types.ServiceConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			t.Errorf("%s: %s has no value; got it from the host, want it set in the compose file", s.Name, k)
			continue
		}
		env[k] = *v
	}
	return env
}

func port(t *testing.T, hostport string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return p
}

func TestComposeFile(t *testing.T) {
	p := loadCompose(t)

	t.Run("services", func(t *testing.T) {
		for _, name := range append([]string{"postgres"}, composePeers...) {
			if _, ok := p.Services[name]; !ok {
				t.Errorf("service %s: got missing, want present (services: %v)", name, p.ServiceNames())
			}
		}
	})
	pg, ok := p.Services["postgres"]
	if !ok {
		t.Fatal("no postgres service")
	}
	for _, name := range composePeers {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("no %s service", name)
		}
	}
	pgEnv := serviceEnv(t, pg)

	t.Run("postgres healthcheck", func(t *testing.T) {
		hc := pg.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Fatalf("postgres healthcheck: got %+v, want one running pg_isready", hc)
		}
		if got := strings.Join(hc.Test, " "); !strings.Contains(got, "pg_isready") {
			t.Errorf("postgres healthcheck test: got %q, want it to run pg_isready", got)
		}
	})

	envs := map[string]map[string]string{}
	for _, name := range composePeers {
		s := p.Services[name]
		env := serviceEnv(t, s)
		envs[name] = env

		t.Run(name+"/depends on healthy postgres", func(t *testing.T) {
			dep, ok := s.DependsOn["postgres"]
			if !ok {
				t.Fatalf("depends_on: got %v, want postgres", s.DependsOn)
			}
			if got, want := dep.Condition, types.ServiceConditionHealthy; got != want {
				t.Errorf("depends_on postgres condition: got %q, want %q", got, want)
			}
		})

		t.Run(name+"/build", func(t *testing.T) {
			if s.Build == nil || s.Build.Context == "" {
				t.Fatalf("build: got %+v, want a build context", s.Build)
			}
			df := s.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if !filepath.IsAbs(df) {
				df = filepath.Join(s.Build.Context, df)
			}
			if _, err := os.Stat(df); err != nil {
				t.Errorf("build dockerfile: got %v, want an existing file", err)
			}
		})

		t.Run(name+"/variables are config.Names", func(t *testing.T) {
			for k := range env {
				if !slices.Contains(config.Names, k) {
					t.Errorf("variable %s: got it set, want only variables the server reads (%v)", k, config.Names)
				}
			}
			for _, k := range clusterVars {
				if env[k] == "" {
					t.Errorf("variable %s: got unset, want set (needed to join the cluster)", k)
				}
			}
		})

		t.Run(name+"/config parses", func(t *testing.T) {
			cfg, err := config.Parse(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("config.Parse: got %v, want nil", err)
			}
			if !cfg.Embedded() {
				t.Errorf("embedded NATS: got false (NATS_URL=%v), want true", cfg.NATSURLs)
			}
		})

		t.Run(name+"/http port published", func(t *testing.T) {
			httpPort := port(t, env["HTTP_ADDR"])
			var published []string
			for _, pc := range s.Ports {
				if pc.Published != "" && httpPort == strconv.FormatUint(uint64(pc.Target), 10) {
					published = append(published, pc.Published)
				}
			}
			if len(published) == 0 {
				t.Fatalf("ports: got %+v, want one publishing container port %s (HTTP_ADDR)", s.Ports, httpPort)
			}
			// Peers list each other by HTTP_ADVERTISE; behind the port mapping it
			// must name the published port, not the container's.
			if adv := env["HTTP_ADVERTISE"]; adv != "" && !slices.Contains(published, port(t, adv)) {
				t.Errorf("HTTP_ADVERTISE %s: got port %s, want the published port (%v)", adv, port(t, adv), published)
			}
		})

		t.Run(name+"/data dir volume", func(t *testing.T) {
			for _, v := range s.Volumes {
				if v.Target == env["DATA_DIR"] {
					return
				}
			}
			t.Errorf("volumes: got %+v, want one mounted at DATA_DIR %q", s.Volumes, env["DATA_DIR"])
		})

		t.Run(name+"/database is the postgres service", func(t *testing.T) {
			u, err := url.Parse(env["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			if got, want := u.Hostname(), "postgres"; got != want {
				t.Errorf("DATABASE_URL host: got %q, want %q", got, want)
			}
			if got, want := strings.TrimPrefix(u.Path, "/"), pgEnv["POSTGRES_DB"]; got != want {
				t.Errorf("DATABASE_URL database: got %q, want %q (POSTGRES_DB)", got, want)
			}
			if got, want := u.User.Username(), pgEnv["POSTGRES_USER"]; got != want {
				t.Errorf("DATABASE_URL user: got %q, want %q (POSTGRES_USER)", got, want)
			}
			if got, _ := u.User.Password(); got != pgEnv["POSTGRES_PASSWORD"] {
				t.Errorf("DATABASE_URL password: got %q, want POSTGRES_PASSWORD", got)
			}
		})
	}

	t.Run("routes reach the other peers", func(t *testing.T) {
		for _, name := range composePeers {
			routes := map[string]bool{}
			for _, r := range strings.Split(envs[name]["NATS_CLUSTER_PEERS"], ",") {
				u, err := url.Parse(strings.TrimSpace(r))
				if err != nil {
					t.Errorf("%s: route %q: %v", name, r, err)
					continue
				}
				if _, ok := envs[u.Hostname()]; !ok {
					t.Errorf("%s: route %q: got host %q, want a peer service (%v)", name, r, u.Hostname(), composePeers)
				}
				routes[u.Host] = true
			}
			for _, other := range composePeers {
				if other == name {
					continue
				}
				want := net.JoinHostPort(other, port(t, envs[other]["NATS_CLUSTER_LISTEN"]))
				if !routes[want] {
					t.Errorf("%s: NATS_CLUSTER_PEERS: got %q, want a route to %s", name, envs[name]["NATS_CLUSTER_PEERS"], want)
				}
			}
		}
	})

	t.Run("one cluster name", func(t *testing.T) {
		want := envs[composePeers[0]]["NATS_CLUSTER_NAME"]
		for _, name := range composePeers[1:] {
			if got := envs[name]["NATS_CLUSTER_NAME"]; got != want {
				t.Errorf("%s: NATS_CLUSTER_NAME: got %q, want %q (as %s)", name, got, want, composePeers[0])
			}
		}
	})

	t.Run("distinct instance names", func(t *testing.T) {
		seen := map[string]string{}
		for _, name := range composePeers {
			in := envs[name]["INSTANCE_NAME"]
			if prev, dup := seen[in]; dup {
				t.Errorf("%s: INSTANCE_NAME: got %q, want distinct (also %s)", name, in, prev)
			}
			seen[in] = name
		}
	})

	t.Run("distinct host ports", func(t *testing.T) {
		seen := map[string]string{}
		for _, name := range composePeers {
			for _, pc := range p.Services[name].Ports {
				key := pc.HostIP + ":" + pc.Published + "/" + pc.Protocol
				if prev, dup := seen[key]; dup {
					t.Errorf("%s: published port: got %s, want distinct (also %s)", name, pc.Published, prev)
				}
				seen[key] = name
			}
		}
	})

	t.Run("distinct data volumes", func(t *testing.T) {
		seen := map[string]string{}
		for _, name := range composePeers {
			for _, v := range p.Services[name].Volumes {
				if v.Target != envs[name]["DATA_DIR"] {
					continue
				}
				if prev, dup := seen[v.Source]; dup {
					t.Errorf("%s: DATA_DIR volume: got %q, want distinct (also %s)", name, v.Source, prev)
				}
				seen[v.Source] = name
			}
		}
	})
}

func TestComposeDockerfile(t *testing.T) {
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatalf("open %s: got %v, want the file", dockerfile, err)
	}
	defer f.Close()

	var froms, builds int
	var lastUser string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms++
			lastUser = "" // USER is per stage
		case "USER":
			if len(fields) > 1 {
				lastUser = fields[1]
			}
		}
		if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/server") {
			builds++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	t.Run("multi-stage", func(t *testing.T) {
		if got, want := froms, 2; got < want {
			t.Errorf("FROM lines: got %d, want at least %d", got, want)
		}
	})
	t.Run("builds cmd/server", func(t *testing.T) {
		if builds == 0 {
			t.Errorf("go build ./cmd/server: got none, want one")
		}
	})
	t.Run("final stage not root", func(t *testing.T) {
		if u, _, _ := strings.Cut(lastUser, ":"); u == "" || u == "root" || u == "0" {
			t.Errorf("final stage USER: got %q, want a non-root user", lastUser)
		}
	})
}
