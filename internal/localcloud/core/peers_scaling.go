package core

// ScalableServices is what Application Auto Scaling asks ECS about a service it scales.
type ScalableServices interface {
	// ServiceDesiredCount returns an ACTIVE service's desired count; ok is false when
	// there is no such service.
	ServiceDesiredCount(region, cluster, service string) (desired int, ok bool)
	// SetServiceDesiredCount changes it, as a scaling activity does.
	SetServiceDesiredCount(region, cluster, service string, desired int) error
}
