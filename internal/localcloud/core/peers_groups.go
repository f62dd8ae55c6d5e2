package core

// SecurityGroupUsers is a room whose resources hold security groups (ELBv2's load
// balancers; ECS's tasks may join): EC2 refuses to delete a group one of them uses
// (DependencyViolation), as AWS does for a group on a network interface. EC2 asks without
// holding its own lock, so the user may call Network while answering.
type SecurityGroupUsers interface {
	// SecurityGroupInUse names a resource that uses the group ("" = none).
	SecurityGroupInUse(region, groupID string) string
}

// Peers returns every room that offers T (Peer returns the first).
func Peers[T any](c *Cloud) []T {
	var out []T
	for _, r := range c.rooms {
		if p, ok := r.(T); ok {
			out = append(out, p)
		}
	}
	return out
}
