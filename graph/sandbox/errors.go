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
	CodeInvalidParam     = 100
	CodeInvalidToken     = 190
	CodeUnavailable      = 551
	CodeAlreadyReplied   = 10900
	CodeNotReplyable     = 10902
	CodeTooOld           = 10903
	CodeThrottled        = 80006
	SubcodeNoObject      = 33
	SubcodeExpired       = 463
	SubcodeNoUser        = 2018001
	SubcodeOutsideWindow = 2018278
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
	regain    time.Duration // for code 80006, when access comes back
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
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeUnavailable,
		msg: "(#551) This person isn't available right now."}
}

func errOutsideWindow() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodePermission, subcode: SubcodeOutsideWindow,
		msg: "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview"}
}

func errThrottled(regain time.Duration) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "OAuthException", code: CodeThrottled, regain: regain,
		msg: "(#80006) There have been too many messages sent from this Page. Please wait a while before sending again."}
}
