package certmgr

import "time"

// Hooks for the external tests of this package.

// LocalIssuerID is the issuer key the local CA stores its leaves under.
const LocalIssuerID = localIssuerID

// ReportAfter is how long broken certificate files stay quiet.
const ReportAfter time.Duration = reportAfter

// SourceStopped reports whether the source serving the certificate called
// name in s has been stopped. Only local CA and ACME sources run anything
// to stop; for other sources it reports false.
func (s *Set) SourceStopped(name string) bool {
	ms, ok := s.byName[name].(*managedSource)
	return ok && ms.ctx != nil && ms.ctx.Err() != nil
}
