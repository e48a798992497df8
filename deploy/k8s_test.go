package deploy_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// kObject is one Kubernetes object of a manifest.
type kObject struct {
	file string
	doc  map[string]any
}

func (o kObject) kind() string { return str(o.doc["kind"]) }
func (o kObject) name() string { return str(dig(o.doc, "metadata", "name")) }
func (o kObject) String() string {
	return fmt.Sprintf("%s %s (%s)", o.kind(), o.name(), filepath.Base(o.file))
}

// kustomization is one kustomization.yaml with the objects of its resources
// (a directory resource contributes its own kustomization's objects).
type kustomization struct {
	dir     string
	doc     map[string]any
	objects []kObject
	// generated maps a configMapGenerator's name to its files: key -> local path.
	generated map[string]map[string]string
}

func loadKustomization(t *testing.T, dir string) *kustomization {
	t.Helper()
	docs, err := readYAMLDocs(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("%s/kustomization.yaml: %d documents", dir, len(docs))
	}
	k := &kustomization{dir: dir, doc: docs[0], generated: map[string]map[string]string{}}
	if kind := str(k.doc["kind"]); kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml: kind %q", dir, kind)
	}
	for _, r := range stringList(k.doc["resources"]) {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s/kustomization.yaml: resource %s: %v", dir, r, err)
			continue
		}
		if st.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
				t.Errorf("%s/kustomization.yaml: resource %s is a directory without kustomization.yaml", dir, r)
				continue
			}
			sub := loadKustomization(t, p)
			k.objects = append(k.objects, sub.objects...)
			for n, f := range sub.generated {
				k.generated[n] = f
			}
			continue
		}
		objs, err := readYAMLDocs(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for _, o := range objs {
			obj := kObject{file: p, doc: o}
			if obj.kind() == "" || obj.name() == "" || str(o["apiVersion"]) == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name", p)
			}
			k.objects = append(k.objects, obj)
		}
	}
	for _, g := range listOf(k.doc["configMapGenerator"]) {
		name := str(mapOf(g)["name"])
		files := map[string]string{}
		if b := str(mapOf(g)["behavior"]); b == "merge" || b == "replace" {
			if prev, ok := k.generated[name]; ok && b == "merge" {
				for kk, v := range prev {
					files[kk] = v
				}
			}
		}
		for _, f := range stringList(mapOf(g)["files"]) {
			key, file, ok := strings.Cut(f, "=")
			if !ok {
				key, file = filepath.Base(f), f
			}
			p := filepath.Join(dir, file)
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s/kustomization.yaml: configMapGenerator %s: file %s: %v", dir, name, file, err)
			}
			files[key] = p
		}
		k.generated[name] = files
	}
	return k
}

func (k *kustomization) find(kind, name string) (kObject, bool) {
	for _, o := range k.objects {
		if o.kind() == kind && o.name() == name {
			return o, true
		}
	}
	return kObject{}, false
}

func (k *kustomization) all(kind string) []kObject {
	var out []kObject
	for _, o := range k.objects {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// secretData returns a Secret's keys and values (stringData and data).
func (k *kustomization) secretData(name string) (map[string]string, error) {
	s, ok := k.find("Secret", name)
	if !ok {
		return nil, fmt.Errorf("no Secret %s", name)
	}
	out := map[string]string{}
	for key, v := range mapOf(s.doc["data"]) {
		b, err := base64.StdEncoding.DecodeString(str(v))
		if err != nil {
			return nil, fmt.Errorf("Secret %s: data.%s is not base64", name, key)
		}
		out[key] = string(b)
	}
	for key, v := range mapOf(s.doc["stringData"]) {
		out[key] = str(v)
	}
	return out, nil
}

// labelsMatch reports whether every selector label is in labels.
func labelsMatch(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if str(labels[k]) != str(v) {
			return false
		}
	}
	return true
}

// containerPort resolves a probe's or Service's port (a number or a name).
func containerPort(c map[string]any, port any) (int, bool) {
	if n, ok := port.(int); ok {
		return n, true
	}
	for _, p := range listOf(c["ports"]) {
		if str(mapOf(p)["name"]) == str(port) {
			n, ok := mapOf(p)["containerPort"].(int)
			return n, ok
		}
	}
	return 0, false
}

// k8sUnits returns the pagereply containers of the base's Deployments.
func k8sUnits(t *testing.T) []unit {
	t.Helper()
	return kustomizationUnits(t, loadKustomization(t, "k8s/base"))
}

func kustomizationUnits(t *testing.T, k *kustomization) []unit {
	t.Helper()
	img := dockerImage(t)
	var units []unit
	for _, d := range k.all("Deployment") {
		pod := mapOf(dig(d.doc, "spec", "template", "spec"))
		grace := 30 * time.Second // Kubernetes' default
		if g, ok := pod["terminationGracePeriodSeconds"].(int); ok {
			grace = time.Duration(g) * time.Second
		}
		volumes := map[string]map[string]any{}
		for _, v := range listOf(pod["volumes"]) {
			volumes[str(mapOf(v)["name"])] = mapOf(v)
		}
		var services []string
		for _, svc := range k.all("Service") {
			if labelsMatch(mapOf(dig(svc.doc, "spec", "selector")), mapOf(dig(d.doc, "spec", "template", "metadata", "labels"))) {
				services = append(services, svc.name())
			}
		}
		for _, cv := range listOf(pod["containers"]) {
			c := mapOf(cv)
			u := unit{where: fmt.Sprintf("Deployment %s container %s", d.name(), str(c["name"])),
				env: map[string]string{}, files: map[string]string{}, grace: grace, services: services}
			if hook := mapOf(dig(c, "lifecycle", "preStop")); hook != nil {
				switch {
				case dig(hook, "sleep") != nil:
					n, ok := dig(hook, "sleep", "seconds").(int)
					if !ok || n < 1 {
						t.Errorf("%s: lifecycle.preStop.sleep.seconds %v: want a whole number of seconds", u.where, dig(hook, "sleep", "seconds"))
					}
					u.preStop = time.Duration(n) * time.Second
				case dig(hook, "exec") != nil:
					t.Errorf("%s: lifecycle.preStop.exec: the image (distroless) has no shell and no sleep to run; use lifecycle.preStop.sleep (Kubernetes 1.30+)", u.where)
				default:
					t.Errorf("%s: lifecycle.preStop %v: not checked by this test; add it", u.where, sortedKeys(hook))
				}
			}
			for k, v := range img.env {
				u.env[k] = v
			}
			args := stringList(c["args"])
			if cmd := stringList(c["command"]); len(cmd) > 0 {
				if len(img.entrypoint) != 1 || cmd[0] != img.entrypoint[0] {
					t.Errorf("%s: command %v is not the image's binary", u.where, cmd)
				}
				args = append(cmd[1:], args...)
			} else if len(args) == 0 {
				args = img.cmd
			}
			u.args = args
			for _, ef := range listOf(c["envFrom"]) {
				if ref := str(dig(ef, "secretRef", "name")); ref != "" {
					data, err := k.secretData(ref)
					if err != nil {
						t.Errorf("%s: envFrom: %v", u.where, err)
					}
					for key, v := range data {
						u.env[key] = v
					}
				}
				if ref := str(dig(ef, "configMapRef", "name")); ref != "" {
					t.Errorf("%s: envFrom configMapRef %s: not checked by this test; add it", u.where, ref)
				}
			}
			for _, ev := range listOf(c["env"]) {
				e := mapOf(ev)
				name := str(e["name"])
				if ref := mapOf(dig(e, "valueFrom", "secretKeyRef")); ref != nil {
					data, err := k.secretData(str(ref["name"]))
					v, ok := data[str(ref["key"])]
					if err != nil || !ok {
						t.Errorf("%s: env %s: no key %s in Secret %s", u.where, name, str(ref["key"]), str(ref["name"]))
					}
					u.env[name] = v
					continue
				}
				if dig(e, "valueFrom") != nil {
					u.env[name] = "set-by-kubernetes"
					continue
				}
				u.env[name] = str(e["value"])
			}
			for _, mv := range listOf(c["volumeMounts"]) {
				m := mapOf(mv)
				vol, ok := volumes[str(m["name"])]
				if !ok {
					t.Errorf("%s: volumeMount %s: no such volume", u.where, str(m["name"]))
					continue
				}
				cm := str(dig(vol, "configMap", "name"))
				if cm == "" {
					continue
				}
				files, ok := k.generated[cm]
				if !ok {
					t.Errorf("%s: volume %s: ConfigMap %s is not generated by the kustomization", u.where, str(m["name"]), cm)
					continue
				}
				mount := str(m["mountPath"])
				if sub := str(m["subPath"]); sub != "" {
					if f, ok := files[sub]; ok {
						u.files[mount] = f
					}
					continue
				}
				for key, f := range files {
					u.files[strings.TrimSuffix(mount, "/")+"/"+key] = f
				}
			}
			for _, kind := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
				pr := mapOf(c[kind])
				if pr == nil {
					continue
				}
				get := mapOf(pr["httpGet"])
				if get == nil {
					t.Errorf("%s: %s is not an httpGet probe", u.where, kind)
					continue
				}
				port, ok := containerPort(c, get["port"])
				if !ok {
					t.Errorf("%s: %s port %v: no such container port", u.where, kind, get["port"])
					continue
				}
				u.probes = append(u.probes, probe{what: kind, port: port, path: str(get["path"])})
			}
			units = append(units, u)
		}
	}
	return units
}

// TestKustomize checks the kustomize base and the example overlay: every file
// they name exists, every reference between objects resolves, the pods are
// locked down and sized, and each container's command line, configuration,
// environment, probes and grace period work with the binary. Then it runs
// the containers' processes and probes them.
func TestKustomize(t *testing.T) {
	base := loadKustomization(t, "k8s/base")
	units := kustomizationUnits(t, base)

	deployments := base.all("Deployment")
	roles := map[string]bool{}
	for _, u := range units {
		roles[u.args[0]] = true
	}
	for _, r := range []string{"api", "scheduler", "worker"} {
		if !roles[r] {
			t.Errorf("no Deployment runs pagereply %s", r)
		}
	}
	for _, u := range units {
		var live, ready bool
		for _, p := range u.probes {
			live = live || p.what == "livenessProbe" && p.path == "/healthz"
			ready = ready || p.what == "readinessProbe" && p.path == "/readyz"
		}
		if !live || !ready {
			t.Errorf("%s: want a livenessProbe on /healthz and a readinessProbe on /readyz", u.where)
		}
	}

	for _, d := range deployments {
		tmpl := mapOf(dig(d.doc, "spec", "template"))
		labels := mapOf(dig(tmpl, "metadata", "labels"))
		if !labelsMatch(mapOf(dig(d.doc, "spec", "selector", "matchLabels")), labels) {
			t.Errorf("%s: spec.selector does not match the pod template's labels", d)
		}
		pod := mapOf(tmpl["spec"])
		if pod["automountServiceAccountToken"] != false {
			t.Errorf("%s: automountServiceAccountToken should be false (pagereply never calls the Kubernetes API)", d)
		}
		podSec := mapOf(pod["securityContext"])
		for _, cv := range listOf(pod["containers"]) {
			c := mapOf(cv)
			where := fmt.Sprintf("%s container %s", d, str(c["name"]))
			sec := mapOf(c["securityContext"])
			if sec["runAsNonRoot"] != true && podSec["runAsNonRoot"] != true {
				t.Errorf("%s: runAsNonRoot is not true", where)
			}
			if sec["readOnlyRootFilesystem"] != true {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sec["allowPrivilegeEscalation"] != false {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if !slices.Contains(stringList(dig(sec, "capabilities", "drop")), "ALL") {
				t.Errorf("%s: capabilities do not drop ALL", where)
			}
			if str(dig(sec, "seccompProfile", "type")) != "RuntimeDefault" && str(dig(podSec, "seccompProfile", "type")) != "RuntimeDefault" {
				t.Errorf("%s: no RuntimeDefault seccomp profile", where)
			}
			for _, kind := range []string{"requests", "limits"} {
				for _, r := range []string{"cpu", "memory"} {
					if dig(c, "resources", kind, r) == nil {
						t.Errorf("%s: no resources.%s.%s", where, kind, r)
					}
				}
			}
		}
	}

	// The api Service reaches the api pods on a port they listen on.
	svcs := base.all("Service")
	if len(svcs) == 0 {
		t.Error("no Service")
	}
	for _, s := range svcs {
		var target *kObject
		for i, d := range deployments {
			if labelsMatch(mapOf(dig(s.doc, "spec", "selector")), mapOf(dig(d.doc, "spec", "template", "metadata", "labels"))) {
				target = &deployments[i]
			}
		}
		if target == nil {
			t.Errorf("%s: its selector matches no Deployment's pods", s)
			continue
		}
		unitOf := func(port int) bool {
			for _, u := range units {
				if !strings.HasPrefix(u.where, "Deployment "+target.name()+" ") {
					continue
				}
				_, cfg, err := u.loadConfig()
				if err != nil {
					return false
				}
				ports, _ := u.listenPorts(cfg)
				_, ok := ports[port]
				return ok
			}
			return false
		}
		c := mapOf(listOf(dig(target.doc, "spec", "template", "spec", "containers"))[0])
		for _, pv := range listOf(dig(s.doc, "spec", "ports")) {
			tp := mapOf(pv)["targetPort"]
			if tp == nil {
				tp = mapOf(pv)["port"]
			}
			n, ok := containerPort(c, tp)
			if !ok || !unitOf(n) {
				t.Errorf("%s: targetPort %v is not a port %s listens on", s, tp, target)
			}
		}
	}

	// The worker scales on CPU with autoscaling/v2.
	hpas := base.all("HorizontalPodAutoscaler")
	if len(hpas) == 0 {
		t.Error("no HorizontalPodAutoscaler")
	}
	for _, h := range hpas {
		if v := str(h.doc["apiVersion"]); v != "autoscaling/v2" {
			t.Errorf("%s: apiVersion %s, want autoscaling/v2", h, v)
		}
		ref := mapOf(dig(h.doc, "spec", "scaleTargetRef"))
		d, ok := base.find(str(ref["kind"]), str(ref["name"]))
		if !ok {
			t.Errorf("%s: scaleTargetRef %s %s does not exist", h, str(ref["kind"]), str(ref["name"]))
			continue
		}
		if dig(d.doc, "spec", "replicas") != nil {
			t.Errorf("%s: sets spec.replicas, which fights %s on every apply", d, h)
		}
		minR, _ := dig(h.doc, "spec", "minReplicas").(int)
		maxR, _ := dig(h.doc, "spec", "maxReplicas").(int)
		if minR < 1 || maxR < minR {
			t.Errorf("%s: minReplicas %d, maxReplicas %d", h, minR, maxR)
		}
		for _, m := range listOf(dig(h.doc, "spec", "metrics")) {
			if r := str(dig(m, "resource", "name")); r != "" {
				for _, cv := range listOf(dig(d.doc, "spec", "template", "spec", "containers")) {
					if dig(cv, "resources", "requests", r) == nil {
						t.Errorf("%s scales on %s utilization, but %s requests no %s", h, r, d, r)
					}
				}
			}
		}
	}

	// Every Deployment has one PodDisruptionBudget.
	pdbs := base.all("PodDisruptionBudget")
	for _, d := range deployments {
		n := 0
		for _, p := range pdbs {
			if labelsMatch(mapOf(dig(p.doc, "spec", "selector", "matchLabels")), mapOf(dig(d.doc, "spec", "template", "metadata", "labels"))) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets select its pods, want 1", d, n)
		}
	}
	for _, p := range pdbs {
		if v := str(p.doc["apiVersion"]); v != "policy/v1" {
			t.Errorf("%s: apiVersion %s, want policy/v1", p, v)
		}
	}

	t.Run("overlay example", func(t *testing.T) {
		for _, p := range overlayProblems(base, loadKustomization(t, "k8s/overlays/example")) {
			t.Error(p)
		}
	})

	checkUnits(t, units)
}

// overlayProblems checks an overlay against its base: namespace, images,
// replicas and patches all name things the base has.
func overlayProblems(base, o *kustomization) []string {
	var problems []string
	dir := o.dir
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	ns := str(o.doc["namespace"])
	if ns == "" {
		errorf("%s: no namespace", dir)
	}
	for _, n := range o.all("Namespace") {
		if n.name() != ns {
			errorf("%s: Namespace %s, but namespace: %s", dir, n.name(), ns)
		}
	}
	images := map[string]bool{}
	for _, d := range base.all("Deployment") {
		for _, c := range listOf(dig(d.doc, "spec", "template", "spec", "containers")) {
			images[str(mapOf(c)["image"])] = true
		}
	}
	for _, im := range listOf(o.doc["images"]) {
		if name := str(mapOf(im)["name"]); !images[name] {
			errorf("%s: images: %s is no container's image (%v)", dir, name, sortedKeys(images))
		}
		if str(mapOf(im)["newTag"]) == "" && str(mapOf(im)["digest"]) == "" {
			errorf("%s: images: %s without newTag or digest", dir, str(mapOf(im)["name"]))
		}
	}
	for _, r := range listOf(o.doc["replicas"]) {
		if _, ok := base.find("Deployment", str(mapOf(r)["name"])); !ok {
			errorf("%s: replicas: no Deployment %s", dir, str(mapOf(r)["name"]))
		}
	}
	for _, p := range listOf(o.doc["patches"]) {
		path := str(mapOf(p)["path"])
		if path == "" {
			continue
		}
		docs, err := readYAMLDocs(filepath.Join(dir, path))
		if err != nil {
			errorf("%s: patch %s: %v", dir, path, err)
			continue
		}
		for _, d := range docs {
			patch := kObject{file: path, doc: d}
			target, ok := base.find(patch.kind(), patch.name())
			if !ok {
				errorf("%s: patch %s targets %s %s, which the base does not have", dir, path, patch.kind(), patch.name())
				continue
			}
			if str(patch.doc["apiVersion"]) != str(target.doc["apiVersion"]) {
				errorf("%s: patch %s: apiVersion %s, the target's is %s", dir, path, str(patch.doc["apiVersion"]), str(target.doc["apiVersion"]))
			}
			names := map[string]bool{}
			for _, c := range listOf(dig(target.doc, "spec", "template", "spec", "containers")) {
				names[str(mapOf(c)["name"])] = true
			}
			for _, c := range listOf(dig(patch.doc, "spec", "template", "spec", "containers")) {
				if n := str(mapOf(c)["name"]); !names[n] {
					errorf("%s: patch %s: container %s is not in %s", dir, path, n, target)
				}
			}
			if patch.kind() == "HorizontalPodAutoscaler" {
				minR, _ := dig(patch.doc, "spec", "minReplicas").(int)
				maxR, _ := dig(patch.doc, "spec", "maxReplicas").(int)
				if minR > 0 && maxR > 0 && maxR < minR {
					errorf("%s: patch %s: maxReplicas %d < minReplicas %d", dir, path, maxR, minR)
				}
			}
		}
	}
	return problems
}
