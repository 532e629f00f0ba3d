package iam

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// protocol is how a service puts a request on the wire (Smithy's AWS
// protocols): the layer reads the operation and its parameters from it and
// answers a denial in its error shape.
type protocol int

const (
	ec2Query protocol = iota // EC2: form body, Action=, errors <Response><Errors>
	awsQuery                 // SNS, CloudWatch (v1.52), STS: form body, <ErrorResponse>
	awsJSON                  // DynamoDB, KMS, EventBridge, CodePipeline, Health, SQS: X-Amz-Target
	restJSON                 // Image Builder, Scheduler, SES v2: the operation is the method and path
)

// call is one request as the layer reads it.
type call struct {
	protocol  protocol
	signing   string // the SigV4 signing name (credential scope)
	service   string // the IAM service prefix
	operation string
	region    string
	accessKey string
	account   string // the account moto acts as (x-moto-account-id, or its default)
	form      url.Values
	json      map[string]any
	path      []string // restJSON: the path's segments, unescaped
	query     url.Values
}

// iamPrefix maps SigV4 signing names to IAM service prefixes where they
// differ (CloudWatch signs as "monitoring"; SES v2's IAM prefix is "ses").
var iamPrefix = map[string]string{"monitoring": "cloudwatch", "email": "ses"}

// readCall reads the operation and parameters of r, whose body is body.
func readCall(r *http.Request, body []byte, defaultAccount string) (*call, error) {
	c := &call{account: r.Header.Get("x-moto-account-id")}
	if c.account == "" {
		c.account = defaultAccount
	}
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return nil, fmt.Errorf("the request is not signed with SigV4 (no Credential= in Authorization)")
	}
	cred, _, _ = strings.Cut(cred, ",")
	scope := strings.Split(cred, "/")
	if len(scope) != 5 {
		return nil, fmt.Errorf("credential scope %q is not key/date/region/service/aws4_request", cred)
	}
	c.accessKey, c.region, c.signing = scope[0], scope[2], scope[3]
	c.service = c.signing
	if p, ok := iamPrefix[c.signing]; ok {
		c.service = p
	}
	switch target := r.Header.Get("X-Amz-Target"); {
	case target != "":
		c.protocol = awsJSON
		_, c.operation, _ = strings.Cut(target, ".")
		c.json = map[string]any{}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &c.json); err != nil {
				return nil, fmt.Errorf("%s: body is not JSON: %w", target, err)
			}
		}
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		c.form, c.operation = form, form.Get("Action")
		c.protocol = awsQuery
		if c.signing == "ec2" {
			c.protocol = ec2Query
		}
	default:
		c.protocol = restJSON
		c.query = r.URL.Query()
		for _, seg := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
			s, err := url.PathUnescape(seg)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", r.URL.EscapedPath(), err)
			}
			c.path = append(c.path, s)
		}
		c.json = map[string]any{}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &c.json); err != nil {
				return nil, fmt.Errorf("%s %s: body is not JSON: %w", r.Method, r.URL.Path, err)
			}
		}
		op, err := restOperation(c.signing, r.Method, c.path)
		if err != nil {
			return nil, err
		}
		c.operation = op
	}
	if c.operation == "" {
		return nil, fmt.Errorf("cannot tell the %s operation of %s %s", c.signing, r.Method, r.URL.Path)
	}
	return c, nil
}

// restOperation names the REST-JSON operation of a method and path, as each
// service's API reference gives them.
func restOperation(signing, method string, path []string) (string, error) {
	switch signing {
	case "imagebuilder":
		// Image Builder: every operation is /<OperationName>.
		if len(path) == 1 && path[0] != "" {
			return path[0], nil
		}
	case "scheduler":
		switch {
		case len(path) == 2 && path[0] == "schedules":
			return map[string]string{"POST": "CreateSchedule", "GET": "GetSchedule", "PUT": "UpdateSchedule", "DELETE": "DeleteSchedule"}[method], nil
		case len(path) == 1 && path[0] == "schedules":
			return "ListSchedules", nil
		case len(path) == 2 && path[0] == "schedule-groups":
			return map[string]string{"POST": "CreateScheduleGroup", "GET": "GetScheduleGroup", "DELETE": "DeleteScheduleGroup"}[method], nil
		}
	case "ses", "email":
		if method == "POST" && strings.Join(path, "/") == "v2/email/outbound-emails" {
			return "SendEmail", nil
		}
	}
	return "", fmt.Errorf("the IAM layer cannot name the %s operation %s /%s: add it to restOperation", signing, method, strings.Join(path, "/"))
}

// str returns a JSON parameter at a path of object keys.
func (c *call) str(path ...string) string {
	var v any = c.json
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// list returns the values of a query list parameter: prefix.1, prefix.2, ...
func (c *call) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.form[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// denied writes AWS's answer to a call IAM denied, in the protocol's error
// shape: EC2's UnauthorizedOperation (403), the Query protocol's
// AccessDenied / SNS's AuthorizationError (403), and AccessDeniedException
// for the JSON protocols (400, as DynamoDB, KMS, EventBridge and
// CodePipeline document it) and the REST-JSON ones (403).
func denied(w http.ResponseWriter, c *call, message string) {
	requestID := "iam-layer-denied"
	switch c.protocol {
	case ec2Query:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, escapeXML(message), requestID)
	case awsQuery:
		code := "AccessDenied"
		if c.service == "sns" {
			code = "AuthorizationError"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, code, escapeXML(message), requestID)
	case awsJSON:
		status, code := http.StatusBadRequest, "AccessDeniedException"
		if c.service == "sqs" {
			// SQS's JSON protocol is query-compatible: the Query code rides in a header.
			status, code = http.StatusForbidden, "AccessDenied"
			w.Header().Set("x-amzn-query-error", "AccessDenied;Sender")
		}
		body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		// DynamoDB's clients check every response against its CRC32.
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
	}
}

// unreadable answers a request the layer could not read: it is never
// passed on.
func unreadable(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "AccessDeniedException", "message": "IAM layer: " + err.Error()})
}

func escapeXML(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// readBody reads and restores a request's body.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}
