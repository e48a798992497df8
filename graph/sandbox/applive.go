package sandbox

import "net/http"

// SubcodeAppNotLive is the subcode of Meta's refusal of a send to a person
// without a role on an app that is not live (code 10).
const SubcodeAppNotLive = 2018028

// appAccess is who the app may message: everyone once it is live (Standard
// Access through App Review), else only the people with a role on it.
// Guarded by Sandbox.mu.
type appAccess struct {
	notLive bool
	testers map[string]bool
}

func (a *appAccess) set(notLive bool, testers []string) {
	a.notLive = notLive
	a.testers = make(map[string]bool, len(testers))
	for _, id := range testers {
		a.testers[id] = true
	}
}

// mayMessage reports whether the app may send to the person with this id.
func (a *appAccess) mayMessage(id string) bool {
	return !a.notLive || a.testers[id]
}

// SetAppNotLive makes the app one that is not live (notLive true): every send
// (a private reply or a conversation reply) to a person not among testers
// (their person ids: an admin, developer or tester of the app) is refused as
// Meta refuses it, code 10, subcode 2018028, nothing sent. notLive false makes
// it live: anyone may be sent to. It takes effect for the next request.
func (s *Sandbox) SetAppNotLive(notLive bool, testers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app.set(notLive, testers)
}

func errAppNotLive() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodePermission, subcode: SubcodeAppNotLive,
		msg: "(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live."}
}
