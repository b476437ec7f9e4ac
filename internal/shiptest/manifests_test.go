package shiptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/pqlbot/pqlbot/internal/config"
	"github.com/pqlbot/pqlbot/internal/model"
)

// The structs below are the subset of the Kubernetes API the manifests use.
// They are decoded strictly (unknown keys fail), which catches misspelt
// fields that kubectl would reject or, worse, silently drop. A real
// Kubernetes field missing here just needs adding.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type header struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type deployment struct {
	header `yaml:",inline"`
	Spec   struct {
		Replicas             int           `yaml:"replicas"`
		RevisionHistoryLimit int           `yaml:"revisionHistoryLimit"`
		Selector             labelSelector `yaml:"selector"`
		Strategy             struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       int `yaml:"maxSurge"`
				MaxUnavailable int `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int  `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  bool `yaml:"automountServiceAccountToken"`
	SecurityContext               struct {
		RunAsNonRoot   bool  `yaml:"runAsNonRoot"`
		RunAsUser      int64 `yaml:"runAsUser"`
		RunAsGroup     int64 `yaml:"runAsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		ConfigMap struct {
			Name  string `yaml:"name"`
			Items []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Args            []string `yaml:"args"`
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	Env            []envVar `yaml:"env"`
	StartupProbe   probe    `yaml:"startupProbe"`
	ReadinessProbe probe    `yaml:"readinessProbe"`
	LivenessProbe  probe    `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop struct {
			Sleep struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		RunAsGroup               *int64 `yaml:"runAsGroup"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name     string `yaml:"name"`
			Key      string `yaml:"key"`
			Optional bool   `yaml:"optional"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type service struct {
	header `yaml:",inline"`
	Spec   struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string    `yaml:"name"`
			Port       int       `yaml:"port"`
			TargetPort yaml.Node `yaml:"targetPort"`
			Protocol   string    `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type configMap struct {
	header `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

type secret struct {
	header     `yaml:",inline"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
}

type pdb struct {
	header `yaml:",inline"`
	Spec   struct {
		MinAvailable int           `yaml:"minAvailable"`
		Selector     labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type kustomization struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Labels     []struct {
		Pairs map[string]string `yaml:"pairs"`
	} `yaml:"labels"`
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// manifests is everything under manifests/, decoded.
type manifests struct {
	files         map[string][]header // file name → the objects it holds
	deployment    deployment
	service       service
	configMap     configMap
	secret        secret
	pdb           pdb
	kustomization kustomization
}

// decodeStrict decodes one YAML node into v, failing on unknown keys.
func decodeStrict(node *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(node); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	return dec.Decode(v)
}

// readDocs decodes every document of a multi-document YAML file.
func readDocs(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, file)
		if len(n.Content) > 0 && n.Content[0].Kind != 0 {
			docs = append(docs, &n)
		}
	}
	return docs
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "manifests")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	m := &manifests{files: map[string][]header{}}
	seen := map[string]int{}
	for _, file := range files {
		base := filepath.Base(file)
		if base == "slack-app.yaml" {
			continue // not a Kubernetes object; see TestSlackAppManifest
		}
		for _, doc := range readDocs(t, file) {
			var h header
			require.NoError(t, doc.Decode(&h), base)
			require.NotEmpty(t, h.Kind, "%s: a document without kind", base)
			m.files[base] = append(m.files[base], h)
			seen[h.Kind]++
			var target any
			switch h.Kind {
			case "Deployment":
				target = &m.deployment
			case "Service":
				target = &m.service
			case "ConfigMap":
				target = &m.configMap
			case "Secret":
				target = &m.secret
			case "PodDisruptionBudget":
				target = &m.pdb
			case "Kustomization":
				target = &m.kustomization
			default:
				t.Fatalf("%s: unexpected kind %s (teach shiptest about it)", base, h.Kind)
			}
			require.NoError(t, decodeStrict(doc, target), "%s (%s)", base, h.Kind)
		}
	}
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "Kustomization"} {
		require.Equal(t, 1, seen[kind], "want exactly one %s under manifests/", kind)
	}
	return m
}

// container is the pqlbot container of the Deployment.
func (m *manifests) container(t *testing.T) container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	require.Len(t, cs, 1)
	return cs[0]
}

// resolvePort turns a port reference (number or container port name) into
// a container port number.
func (m *manifests) resolvePort(t *testing.T, ref yaml.Node) int {
	t.Helper()
	require.Equal(t, yaml.ScalarNode, ref.Kind, "port must be a number or a name")
	if n, err := strconv.Atoi(ref.Value); err == nil {
		return n
	}
	for _, p := range m.container(t).Ports {
		if p.Name == ref.Value {
			return p.ContainerPort
		}
	}
	t.Fatalf("port %q is not a container port name", ref.Value)
	return 0
}

// configEnvNames are the variables internal/config reads, from the env tags
// of config.Config, so manifests and code cannot drift apart.
func configEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	typ := reflect.TypeOf(config.Config{})
	for i := 0; i < typ.NumField(); i++ {
		tag := typ.Field(i).Tag.Get("env")
		name, _, _ := strings.Cut(tag, ",")
		if name = strings.TrimSpace(name); name != "" {
			names[name] = true
		}
	}
	require.NotEmpty(t, names)
	return names
}

// environ is the container's environment as pqlbot would see it, with
// secrets filled in from secret.example.yaml (optional keys it lacks stay
// unset, as in Kubernetes).
func (m *manifests) environ(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, e := range m.container(t).Env {
		switch {
		case e.Value != nil:
			env = append(env, e.Name+"="+*e.Value)
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if v, ok := m.secret.StringData[e.ValueFrom.SecretKeyRef.Key]; ok {
				env = append(env, e.Name+"="+v)
			}
		default:
			t.Fatalf("env %s: neither value nor secretKeyRef", e.Name)
		}
	}
	return env
}

func TestKustomization(t *testing.T) {
	m := loadManifests(t)
	k := m.kustomization
	require.Equal(t, "kustomize.config.k8s.io/v1beta1", k.APIVersion)
	listed := map[string]bool{}
	for _, r := range k.Resources {
		require.False(t, listed[r], "%s listed twice", r)
		listed[r] = true
		require.Equal(t, path.Base(r), r, "resources are files next to kustomization.yaml")
		require.NotEmpty(t, m.files[r], "resource %s: no such manifest", r)
	}
	// The example Secret holds placeholders: applying it would overwrite
	// the real one. Everything else must be applied.
	require.False(t, listed["secret.example.yaml"], "secret.example.yaml must not be applied")
	for file := range m.files {
		if file == "kustomization.yaml" || file == "secret.example.yaml" {
			continue
		}
		require.True(t, listed[file], "%s is not in kustomization.yaml resources", file)
	}
	require.Len(t, k.Images, 1)
	c := m.container(t)
	repo, _, _ := strings.Cut(c.Image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	require.Equal(t, repo, k.Images[0].Name, "kustomization images must name the Deployment's image")
	require.NotContains(t, []string{"", "latest"}, k.Images[0].NewTag)
}

func TestDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	c := m.container(t)
	pod := d.Spec.Template.Spec

	t.Run("identity", func(t *testing.T) {
		require.Equal(t, "apps/v1", d.APIVersion)
		require.Equal(t, "pqlbot", d.Metadata.Name)
		require.Equal(t, 2, d.Spec.Replicas)
		require.NotEmpty(t, d.Spec.Selector.MatchLabels)
		for k, v := range d.Spec.Selector.MatchLabels {
			require.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "selector %s must match the pod labels", k)
		}
		require.Equal(t, 0, d.Spec.Strategy.RollingUpdate.MaxUnavailable, "roll without losing capacity")
		tag, digest := imageTag(c.Image)
		require.True(t, digest || (tag != "" && tag != "latest"), "image %s: pin a tag", c.Image)
		require.Equal(t, []string{"serve"}, c.Args)
	})

	t.Run("ports agree with the Dockerfile, config and Service", func(t *testing.T) {
		require.Len(t, c.Ports, 1)
		port := c.Ports[0]
		require.Equal(t, "http", port.Name)
		require.Equal(t, 8080, port.ContainerPort)

		var expose string
		for _, in := range dockerStages(t)[len(dockerStages(t))-1].Instr {
			if in.Cmd == "EXPOSE" {
				expose = in.Args
			}
		}
		require.Equal(t, strconv.Itoa(port.ContainerPort), strings.TrimSuffix(expose, "/tcp"), "Dockerfile EXPOSE")

		cfg := m.loadConfig(t)
		_, listen, err := net.SplitHostPort(cfg.HTTPAddr)
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(port.ContainerPort), listen, "HTTP_ADDR must listen on the container port")

		require.Len(t, m.service.Spec.Ports, 1)
		require.Equal(t, port.ContainerPort, m.resolvePort(t, m.service.Spec.Ports[0].TargetPort), "Service targetPort")
		require.Equal(t, port.ContainerPort, m.resolvePort(t, c.ReadinessProbe.HTTPGet.Port), "readiness port")
		require.Equal(t, port.ContainerPort, m.resolvePort(t, c.LivenessProbe.HTTPGet.Port), "liveness port")
		require.Equal(t, port.ContainerPort, m.resolvePort(t, c.StartupProbe.HTTPGet.Port), "startup port")

		ann := d.Spec.Template.Metadata.Annotations
		require.Equal(t, "true", ann["prometheus.io/scrape"])
		require.Equal(t, strconv.Itoa(port.ContainerPort), ann["prometheus.io/port"])
		require.Equal(t, "/metrics", ann["prometheus.io/path"])
	})

	t.Run("probes", func(t *testing.T) {
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
		for name, p := range map[string]probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
			require.Positive(t, p.PeriodSeconds, name)
			require.Positive(t, p.FailureThreshold, name)
		}
		// serve answers 503 on every path while it connects and migrates
		// (cmd/pqlbot TestServeAnswersStartingWhileConnecting): the
		// startupProbe on the liveness path holds liveness off meanwhile,
		// long enough for a migration that waits on another replica's lock.
		require.Equal(t, c.LivenessProbe.HTTPGet.Path, c.StartupProbe.HTTPGet.Path, "the startup probe guards the liveness check")
		window := func(p probe) time.Duration {
			return time.Duration(p.InitialDelaySeconds+p.PeriodSeconds*p.FailureThreshold) * time.Second
		}
		require.GreaterOrEqual(t, window(c.StartupProbe), 3*time.Minute, "startup window for migrations")
		require.Greater(t, window(c.StartupProbe), window(c.LivenessProbe))
		require.Zero(t, c.LivenessProbe.InitialDelaySeconds, "the startup probe replaces the liveness delay")
	})

	t.Run("resources", func(t *testing.T) {
		for _, r := range []string{"cpu", "memory"} {
			require.NotEmpty(t, c.Resources.Requests[r], "requests.%s", r)
		}
		require.NotEmpty(t, c.Resources.Limits["memory"], "limits.memory")
	})

	t.Run("security context", func(t *testing.T) {
		sc := c.SecurityContext
		require.NotNil(t, sc.RunAsNonRoot)
		require.True(t, *sc.RunAsNonRoot)
		require.NotNil(t, sc.ReadOnlyRootFilesystem)
		require.True(t, *sc.ReadOnlyRootFilesystem)
		require.NotNil(t, sc.AllowPrivilegeEscalation)
		require.False(t, *sc.AllowPrivilegeEscalation)
		require.Equal(t, []string{"ALL"}, sc.Capabilities.Drop)
		require.NotNil(t, sc.RunAsUser)
		require.True(t, pod.SecurityContext.RunAsNonRoot)
		uid, gid := imageUser(t, dockerStages(t)[len(dockerStages(t))-1])
		require.Equal(t, uid, *sc.RunAsUser, "runAsUser must be the image's USER")
		require.Equal(t, uid, pod.SecurityContext.RunAsUser)
		require.NotNil(t, sc.RunAsGroup)
		require.Equal(t, gid, *sc.RunAsGroup)
		require.Equal(t, "RuntimeDefault", pod.SecurityContext.SeccompProfile.Type)
	})

	t.Run("environment matches internal/config", func(t *testing.T) {
		known := configEnvNames(t)
		seen := map[string]bool{}
		for _, e := range c.Env {
			require.True(t, known[e.Name], "env %s: internal/config does not read it (typo?)", e.Name)
			require.False(t, seen[e.Name], "env %s set twice", e.Name)
			seen[e.Name] = true
		}
		var missing []string
		for name := range known {
			if !seen[name] {
				missing = append(missing, name)
			}
		}
		sort.Strings(missing)
		require.Empty(t, missing, "the Deployment should list every variable pqlbot reads, so operators see them all")
		// And the values pass pqlbot's own validation for `serve`.
		m.loadConfig(t)
	})

	t.Run("secrets", func(t *testing.T) {
		referenced := map[string]bool{}
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			require.Equal(t, m.secret.Metadata.Name, ref.Name, "env %s", e.Name)
			referenced[ref.Key] = true
			if !ref.Optional {
				require.Contains(t, m.secret.StringData, ref.Key, "env %s: secret.example.yaml lacks key %s", e.Name, ref.Key)
			}
		}
		for key := range m.secret.StringData {
			require.True(t, referenced[key], "secret.example.yaml key %s is used by nothing", key)
		}
		for _, k := range []string{"database-url", "write-keys", "slack-bot-token", "slack-signing-secret", "slack-app-token"} {
			require.True(t, referenced[k], "Secret key %s is not wired to the container", k)
		}
		// What a mode does not need is optional, so that mode's Secret may
		// leave it out instead of the pod failing CreateContainerConfigError.
		for _, e := range c.Env {
			switch e.Name {
			case "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN":
				require.True(t, e.ValueFrom.SecretKeyRef.Optional, "%s must be optional", e.Name)
			}
		}
		// Secrets never travel as plain values.
		for _, e := range c.Env {
			switch e.Name {
			case "DATABASE_URL", "PQLBOT_WRITE_KEYS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN":
				require.Nil(t, e.Value, "%s must come from the Secret", e.Name)
			}
		}
	})

	t.Run("shutdown budget fits the grace period", func(t *testing.T) {
		cfg := m.loadConfig(t)
		budget := cfg.ShutdownTimeout + time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second
		grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second
		require.Greater(t, grace, budget,
			"terminationGracePeriodSeconds (%s) must exceed preStop + PQLBOT_SHUTDOWN_TIMEOUT (%s)", grace, budget)
		require.GreaterOrEqual(t, pod.TerminationGracePeriodSeconds, 30)
	})

	t.Run("model mount", func(t *testing.T) {
		require.Len(t, pod.Volumes, 1)
		vol := pod.Volumes[0]
		require.Equal(t, m.configMap.Metadata.Name, vol.ConfigMap.Name)
		require.Len(t, vol.ConfigMap.Items, 1)
		item := vol.ConfigMap.Items[0]
		require.Contains(t, m.configMap.Data, item.Key)
		require.Len(t, c.VolumeMounts, 1)
		mount := c.VolumeMounts[0]
		require.Equal(t, vol.Name, mount.Name)
		require.True(t, mount.ReadOnly)
		cfg := m.loadConfig(t)
		require.Equal(t, "/etc/pqlbot/model.yaml", cfg.ModelFile)
		require.Equal(t, path.Join(mount.MountPath, item.Path), cfg.ModelFile, "PQLBOT_MODEL_FILE must be the mounted file")
	})
}

// A Socket Mode Secret (app token, no signing secret) starts pqlbot: the
// optional key stays unset and validation accepts it.
func TestSocketModeSecretWithoutSigningSecret(t *testing.T) {
	m := loadManifests(t)
	data := map[string]string{}
	for k, v := range m.secret.StringData {
		if k != "slack-signing-secret" {
			data[k] = v
		}
	}
	data["slack-app-token"] = "xapp-1-CHANGE-ME"
	m.secret.StringData = data
	env := m.environ(t)
	for _, kv := range env {
		require.False(t, strings.HasPrefix(kv, "SLACK_SIGNING_SECRET="), "an optional key missing from the Secret leaves the variable unset")
	}
	cfg := m.loadConfig(t)
	require.Empty(t, cfg.SlackSigningSecret)
	require.NotEmpty(t, cfg.SlackAppToken)
}

// loadConfig runs the Deployment's environment through internal/config.
func (m *manifests) loadConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(context.Background(), config.ModeServe, m.environ(t))
	require.NoError(t, err, "the Deployment's environment fails pqlbot's validation")
	return cfg
}

func TestServiceAndPDB(t *testing.T) {
	m := loadManifests(t)
	pod := m.deployment.Spec.Template.Metadata.Labels
	require.Equal(t, "v1", m.service.APIVersion)
	require.NotEmpty(t, m.service.Spec.Selector)
	for k, v := range m.service.Spec.Selector {
		require.Equal(t, v, pod[k], "Service selector %s", k)
	}
	require.Equal(t, "policy/v1", m.pdb.APIVersion)
	require.Equal(t, 1, m.pdb.Spec.MinAvailable)
	require.Less(t, m.pdb.Spec.MinAvailable, m.deployment.Spec.Replicas, "a PDB as large as replicas blocks every drain")
	require.NotEmpty(t, m.pdb.Spec.Selector.MatchLabels)
	for k, v := range m.pdb.Spec.Selector.MatchLabels {
		require.Equal(t, v, pod[k], "PDB selector %s", k)
	}
	require.Equal(t, "Opaque", m.secret.Type)
	require.Equal(t, "pqlbot", m.secret.Metadata.Name)
}

func TestConfigMapModel(t *testing.T) {
	m := loadManifests(t)
	require.Equal(t, "pqlbot-model", m.configMap.Metadata.Name)
	text, ok := m.configMap.Data["model.yaml"]
	require.True(t, ok, "ConfigMap lacks model.yaml")

	_, err := model.Parse([]byte(text))
	require.NoError(t, err, "the ConfigMap's model does not validate")

	example, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "model", "example.yaml"))
	if os.IsNotExist(err) {
		t.Skip("internal/model/example.yaml does not exist yet")
	}
	require.NoError(t, err)
	// Compared as data, so a comment or quoting style may differ but the
	// model may not.
	var want, got any
	require.NoError(t, yaml.Unmarshal(example, &want))
	require.NoError(t, yaml.Unmarshal([]byte(text), &got))
	require.Equal(t, want, got, "manifests/configmap.yaml must ship the built-in example model")
}

// routesInCode reports whether each path appears in a string literal of the
// non-test Go code outside this package, i.e. something serves it.
func routesInCode(t *testing.T, paths []string) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	found := map[string]bool{}
	var src strings.Builder
	for _, dir := range []string{"handlers", "cmd"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				b, _ := os.ReadFile(p)
				src.Write(b)
			}
			return nil
		})
	}
	for _, p := range paths {
		for _, quoted := range []string{`"` + p + `"`, ` ` + p + `"`, "`" + p + "`"} {
			if strings.Contains(src.String(), quoted) {
				found[p] = true
			}
		}
	}
	return found
}

func TestRoutesServed(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot(t), "handlers")); os.IsNotExist(err) {
		t.Skip("handlers/ does not exist yet")
	}
	paths := []string{"/healthz", "/readyz", "/metrics", "/slack/commands", "/slack/interactions", "/slack/events"}
	found := routesInCode(t, paths)
	for _, p := range paths {
		require.True(t, found[p], "the manifests use %s but no handler registers it", p)
	}
}

func TestSecretExampleHoldsNoRealSecrets(t *testing.T) {
	m := loadManifests(t)
	for k, v := range m.secret.StringData {
		require.Contains(t, strings.ToUpper(v), "CHANGE", fmt.Sprintf("secret.example.yaml %s must be a placeholder", k))
	}
}
