package workspace

// The shape of rudder-server's workspace config (backend-config/types.go: ConfigT, SourceT,
// DestinationT, TransformationT, LibraryT and the definitions), with the JSON names the
// control plane uses. Field order is fixed, map keys are sorted by encoding/json: the
// rendered bytes are deterministic. updatedAt is left out on purpose: a timestamp would
// change the bytes on every render.

type wsConfig struct {
	WorkspaceID string      `json:"workspaceId"`
	Sources     []wsSource  `json:"sources"`
	Libraries   []wsLibrary `json:"libraries"`
}

type wsSource struct {
	ID               string             `json:"id"`
	Name             string             `json:"name"`
	WriteKey         string             `json:"writeKey"`
	Enabled          bool               `json:"enabled"`
	WorkspaceID      string             `json:"workspaceId"`
	Config           map[string]any     `json:"config"`
	SourceDefinition wsSourceDefinition `json:"sourceDefinition"`
	Destinations     []wsDestination    `json:"destinations"`
}

type wsSourceDefinition struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wsDestination struct {
	ID                    string                  `json:"id"`
	Name                  string                  `json:"name"`
	Enabled               bool                    `json:"enabled"`
	IsProcessorEnabled    bool                    `json:"isProcessorEnabled"`
	WorkspaceID           string                  `json:"workspaceId"`
	RevisionID            string                  `json:"revisionId"`
	Config                map[string]any          `json:"config"`
	Transformations       []wsTransformation      `json:"transformations"`
	DestinationDefinition wsDestinationDefinition `json:"destinationDefinition"`
}

type wsDestinationDefinition struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"displayName"`
	Config      map[string]any `json:"config"`
}

type wsTransformation struct {
	VersionID string `json:"versionId"`
	ID        string `json:"id"`
	Language  string `json:"language"`
}

type wsLibrary struct {
	VersionID string `json:"versionId"`
}

// transformationAnswer is what rudder-transformer reads from
// GET {CONFIG_BACKEND_URL}/transformation/getByVersionId?versionId=... (customTransformer.js,
// customTransformer-v1.js): codeVersion "1" selects the isolated-vm runner, which uses
// code, id, workspaceId, name and versionId.
type transformationAnswer struct {
	ID          string `json:"id"`
	VersionID   string `json:"versionId"`
	Name        string `json:"name"`
	Code        string `json:"code"`
	CodeVersion string `json:"codeVersion"`
	Language    string `json:"language"`
	WorkspaceID string `json:"workspaceId"`
}

// libraryAnswer is what it reads from
// GET {CONFIG_BACKEND_URL}/transformationLibrary/getByVersionId?versionId=... (ivmFactory.js):
// the code, under camelCase(name) as the module name the function imports.
type libraryAnswer struct {
	ID        string `json:"id"`
	VersionID string `json:"versionId"`
	Name      string `json:"name"`
	Code      string `json:"code"`
}

// TransformationAnswer is the JSON body for
// GET /transformation/getByVersionId?versionId=<versionID>, and false when no function of
// this workspace has that version.
func (c *Compiled) TransformationAnswer(versionID string) ([]byte, bool) {
	for _, f := range c.Functions {
		if f.VersionID == versionID {
			return c.answers[versionID], true
		}
	}
	return nil, false
}

// LibraryAnswer is the JSON body for
// GET /transformationLibrary/getByVersionId?versionId=<versionID>, and false when no
// library of this workspace has that version.
func (c *Compiled) LibraryAnswer(versionID string) ([]byte, bool) {
	for _, l := range c.Libraries {
		if l.VersionID == versionID {
			return c.answers[versionID], true
		}
	}
	return nil, false
}
