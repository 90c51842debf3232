// Command schemagen writes the JSON schemas that deploy-check validates the Kubernetes
// manifests against, offline. It builds them from the Kubernetes API's own Go types:
// make deploy-check first runs kube-openapi's openapi-gen over k8s.io/api (the generator
// the Kubernetes API server's OpenAPI document comes from) into package openapi, then this
// program expands each kind's definition into a standalone, strict schema (unknown fields
// are errors, as kubectl's server-side validation makes them) named as kubeconform's
// default schema repository names them: <kind>[-<group>]-<version>.json.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/nrs-pilots/retrain/deploy/schemagen/openapi"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

func main() {
	out := flag.String("out", "", "directory to write the schemas into (required)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		return errors.New("-out is required")
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	defs := openapi.GetOpenAPIDefinitions(func(name string) spec.Ref { return spec.MustCreateRef(name) })
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var written []string
	for gvk, typ := range scheme.AllKnownTypes() {
		named, ok := reflect.New(typ).Interface().(interface{ OpenAPIModelName() string })
		if !ok {
			continue
		}
		def, ok := defs[named.OpenAPIModelName()]
		if !ok || !strings.HasPrefix(typ.PkgPath(), "k8s.io/api/") {
			continue // the options and watch types every group registers
		}
		x := expander{defs: defs, stack: map[string]bool{}}
		s, err := x.expand(def.Schema)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk, err)
		}
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return fmt.Errorf("%s: no properties", gvk)
		}
		// A document names exactly this kind and version.
		props["apiVersion"] = map[string]any{"type": "string", "enum": []any{gvk.GroupVersion().String()}}
		props["kind"] = map[string]any{"type": "string", "enum": []any{gvk.Kind}}
		s["$schema"] = "http://json-schema.org/schema#"
		name := strings.ToLower(gvk.Kind)
		if gvk.Group != "" {
			name += "-" + strings.Split(gvk.Group, ".")[0]
		}
		name += "-" + gvk.Version + ".json"
		body, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, name), body, 0o644); err != nil {
			return err
		}
		written = append(written, name)
	}
	sort.Strings(written)
	fmt.Printf("schemagen: %d schemas in %s\n", len(written), out)
	return nil
}

// expander inlines references, so each schema stands alone.
type expander struct {
	defs  map[string]common.OpenAPIDefinition
	stack map[string]bool
}

func (x *expander) expand(s spec.Schema) (map[string]any, error) {
	if ref := s.Ref.String(); ref != "" {
		if x.stack[ref] {
			// A recursive type (JSON in custom resource schemas): accept anything below.
			return map[string]any{}, nil
		}
		def, ok := x.defs[ref]
		if !ok {
			return nil, fmt.Errorf("no definition for %s", ref)
		}
		x.stack[ref] = true
		defer delete(x.stack, ref)
		return x.expand(def.Schema)
	}
	out := map[string]any{}
	switch len(s.Type) {
	case 0:
	case 1:
		out["type"] = s.Type[0]
	default:
		out["type"] = []string(s.Type)
	}
	if s.Format != "" && s.Format != "int-or-string" {
		out["format"] = s.Format
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if len(s.OneOf) > 0 {
		var alts []any
		for _, alt := range s.OneOf {
			e, err := x.expand(alt)
			if err != nil {
				return nil, err
			}
			alts = append(alts, e)
		}
		out["oneOf"] = alts
		delete(out, "format")
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			e, err := x.expand(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			props[name] = e
		}
		out["properties"] = props
		if len(s.Required) > 0 {
			out["required"] = s.Required
		}
		// Strict: a misspelt field is an error, not silently dropped.
		out["additionalProperties"] = false
	}
	if ap := s.AdditionalProperties; ap != nil {
		if ap.Schema != nil {
			e, err := x.expand(*ap.Schema)
			if err != nil {
				return nil, err
			}
			out["additionalProperties"] = e
		} else {
			out["additionalProperties"] = ap.Allows
		}
	}
	if s.Items != nil && s.Items.Schema != nil {
		e, err := x.expand(*s.Items.Schema)
		if err != nil {
			return nil, err
		}
		out["items"] = e
	}
	return out, nil
}
