package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// Graph error codes the sandbox answers with.
const (
	CodeUnknown          = 1
	CodeTransient        = 2
	CodePermission       = 10
	CodeAdsPermission    = 200 // a permission the token lacks, as for ads_posts (DenyAdsPosts)
	CodeAPIMethod        = 3   // the app lacks a capability (DenyAdsPosts: the Marketing API's access)
	CodeAdsManagement    = 294 // ads_management missing (DenyAdsPosts)
	CodeInvalidParam     = 100
	CodeInvalidToken     = 190
	CodeUnavailable      = 551
	CodeAlreadyReplied   = 10900
	CodeNotReplyable     = 10902
	CodeTooOld           = 10903
	CodePagesThrottled   = 80001 // Pages rate limit (BUC type "pages"): a Page token's Page calls
	CodeThrottled        = 80006 // Messenger rate limit (BUC type "messenger"): sends, conversations
	SubcodeNoObject      = 33
	SubcodeExpired       = 463
	SubcodeNoUser        = 2018001
	SubcodeOutsideWindow = 2018278
	SubcodeUnavailable   = 1545041 // 551's, as Meta sends it
)

// apiError is a Graph error answer.
type apiError struct {
	status    int
	typ       string
	code      int
	subcode   int
	msg       string
	userMsg   string
	transient bool
	regain    time.Duration // for a throttling refusal, when access comes back
	buc       string        // for a throttling refusal, its X-Business-Use-Case-Usage type
}

func (e *apiError) Error() string {
	return fmt.Sprintf("graph error %d/%d: %s", e.code, e.subcode, e.msg)
}

// writeError writes e as Graph does: {"error":{...}} with its HTTP status.
func (s *Sandbox) writeError(w http.ResponseWriter, e *apiError) {
	var j enc
	j.open()
	j.key("error")
	j.open()
	j.kstr("message", e.msg)
	j.kstr("type", e.typ)
	j.key("code")
	j.int(int64(e.code))
	if e.subcode != 0 {
		j.key("error_subcode")
		j.int(int64(e.subcode))
	}
	j.key("is_transient")
	j.bool(e.transient)
	if e.userMsg != "" {
		j.kstr("error_user_msg", e.userMsg)
	}
	j.kstr("fbtrace_id", s.newTraceID())
	j.close()
	j.close()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if e.code == CodeInvalidToken {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+e.msg+`"`)
	}
	w.WriteHeader(e.status)
	w.Write(j.b)
}

func errTransient() *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: "OAuthException", code: CodeTransient, transient: true,
		msg: "An unexpected error has occurred. Please retry your request later."}
}

func errTooMuchData() *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: "OAuthException", code: CodeUnknown,
		msg: "Please reduce the amount of data you're asking for, then retry your request"}
}

func errNoToken() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidToken,
		msg: "An active access token must be used to query information about the current user."}
}

func errBadToken() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidToken,
		msg: "Invalid OAuth access token - Cannot parse access token"}
}

func errExpiredToken() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidToken, subcode: SubcodeExpired,
		msg: "Error validating access token: Session has expired.", userMsg: "Your session has expired. Please log in again."}
}

// errWrongPage answers an edge of a Page (feed, conversations, messages)
// called with another Page's token. Another Page's objects are errNoObject.
func errWrongPage() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidToken,
		msg: "Invalid OAuth access token - the token does not belong to this Page"}
}

func errProof() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "GraphMethodException", code: CodeInvalidParam,
		msg: "Invalid appsecret_proof provided in the API argument"}
}

// errAdsPermission answers the ads_posts edge of Page pageID whose token
// lacks the ads permissions (DenyAdsPosts): code 10, 200, 294 or 3, or 100
// subcode 33 naming the Page ("cannot be loaded due to missing
// permissions"), as Graph words them.
func errAdsPermission(code int, pageID string) *apiError {
	switch code {
	case CodePermission:
		return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodePermission,
			msg: "(#10) Requires pages_manage_ads permission to manage the object"}
	case CodeInvalidParam:
		return errNoObject("get", pageID)
	case CodeAdsManagement:
		return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeAdsManagement,
			msg: "(#294) Managing advertisements requires the extended permission ads_management and an application that is in our allow list to access the Marketing API"}
	case CodeAPIMethod:
		return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeAPIMethod,
			msg: "(#3) Application does not have the capability to make this API call."}
	}
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeAdsPermission,
		msg: "(#200) Requires either ads_management or pages_manage_ads permission, and the ADVERTISE task on the Page"}
}

// errReelsRefused answers the video_reels edge of a Page whose Reels cannot
// be read (DenyReels): code 100, "Unsupported get request", or code 10 or
// 200, a permission the token lacks.
func errReelsRefused(code int) *apiError {
	switch code {
	case CodeInvalidParam:
		return errUnsupported("get")
	case CodePermission:
		return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodePermission,
			msg: "(#10) Application does not have permission for this action"}
	}
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeAdsPermission,
		msg: "(#200) Permissions error"}
}

func errNoObject(method, id string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "GraphMethodException", code: CodeInvalidParam, subcode: SubcodeNoObject,
		msg: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", method, id)}
}

func errUnsupported(method string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "GraphMethodException", code: CodeInvalidParam,
		msg: fmt.Sprintf("Unsupported %s request. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", method)}
}

func errParam(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidParam,
		msg: "(#100) " + fmt.Sprintf(format, args...)}
}

func errField(name, node string) *apiError {
	return errParam("Tried accessing nonexisting field (%s) on node type (%s)", name, node)
}

func errNoUser() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeInvalidParam, subcode: SubcodeNoUser,
		msg: "(#100) No matching user found"}
}

func errAlreadyReplied() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeAlreadyReplied,
		msg: "(#10900) Activity already replied to", userMsg: "You have already replied to this comment privately."}
}

func errNotReplyable() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeNotReplyable,
		msg: "(#10902) This activity cannot be replied to privately"}
}

func errTooOld() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeTooOld,
		msg: "(#10903) This activity is too old to be replied to privately"}
}

func errUnavailable() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeUnavailable, subcode: SubcodeUnavailable,
		msg: "(#551) This person isn't available right now."}
}

func errOutsideWindow() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodePermission, subcode: SubcodeOutsideWindow,
		msg: "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview"}
}

// errThrottled refuses a call of a throttled Page with the code of the rate
// limit it falls under: 80001 for the Pages API (buc "pages"), 80006 for the
// Messenger Platform (buc "messenger"), with Meta's messages.
func errThrottled(buc string, regain time.Duration) *apiError {
	e := &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeThrottled, regain: regain, buc: buc,
		msg: "(#80006) There have been too many messenger api calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."}
	if buc == usagePages {
		e.code = CodePagesThrottled
		e.msg = "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
	}
	return e
}
