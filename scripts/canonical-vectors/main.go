// Prints the canonical JSON that notary's own encoder produces for each input in
// fixtures/canonical/inputs.json, the way notary's verifier does it: decode the JSON text into
// a generic value (numbers become float64), then json.MarshalCanonical.
//
// Run (Debian packages golang-go and golang-github-docker-go-dev, which ship the exact
// canonical/json commit notary vendors, d30aec9):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go run scripts/canonical-vectors/main.go \
//	  < fixtures/canonical/inputs.json > fixtures/canonical/vectors.json
package main

import (
	"encoding/base64"
	stdjson "encoding/json"
	"os"

	"github.com/docker/go/canonical/json"
)

type input struct {
	Name string `json:"name"`
	JSON string `json:"json"`
}

type vector struct {
	Name      string `json:"name"`
	JSON      string `json:"json"`
	Canonical string `json:"canonicalBase64,omitempty"`
	Error     string `json:"error,omitempty"`
}

func main() {
	var inputs []input
	if err := stdjson.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		panic(err)
	}
	out := []vector{}
	for _, in := range inputs {
		v := vector{Name: in.Name, JSON: in.JSON}
		var decoded interface{}
		if err := json.Unmarshal([]byte(in.JSON), &decoded); err != nil {
			v.Error = "decode: " + err.Error()
		} else if b, err := json.MarshalCanonical(decoded); err != nil {
			v.Error = "encode: " + err.Error()
		} else {
			v.Canonical = base64.StdEncoding.EncodeToString(b)
		}
		out = append(out, v)
	}
	enc := stdjson.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
