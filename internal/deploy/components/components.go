// Package components is the registry of the components a stack can have. The commands
// plan, status, destroy and endpoints loop over it; adding a component is one line here.
package components

import (
	"github.com/rudderctl/rudderctl/backendnodes"
	"github.com/rudderctl/rudderctl/container"
	"github.com/rudderctl/rudderctl/internal/deploy/component"
	"github.com/rudderctl/rudderctl/internal/deploy/transformer"
	"github.com/rudderctl/rudderctl/internal/deploy/workspace"
)

// All are the components of a stack in deploy order (destroy goes in reverse), built
// without deploy input: enough for status, destroy and endpoints.
func All() []component.Component {
	return []component.Component{
		&transformer.Component{},
		&workspace.Component{},
		&container.Component{},
		&backendnodes.Component{},
	}
}
