// Package openapi embeds the OpenAPI (Swagger 2.0) document generated from the protos and
// proto/http.yaml, so the gateway can serve it at /openapi.json.
package openapi

import _ "embed"

//go:embed retrain.swagger.json
var document []byte

// Document returns the OpenAPI document of the REST API as JSON. Callers must not modify it.
func Document() []byte { return document }
