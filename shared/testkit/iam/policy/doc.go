// Package policy evaluates AWS IAM policies as AWS documents it, so that
// the local AWS emulator can decide allow or deny for every request the
// suite makes, with the same policies the stacks deploy. It is test
// tooling: nothing a function ships links it.
//
// It fails closed. Anything it does not understand is an error, and
// Evaluate returns an ImplicitDeny with every error: an unknown element or
// condition operator, a condition key the action does not support (when
// the caller says which keys it supports, Request.KnownKeys), a policy
// variable, a malformed value. Errors wrap ErrInvalidPolicy,
// ErrUnsupported, ErrUnknownKey or ErrInvalidRequest.
//
// # Where each rule lives
//
//   - Parse and Document.Validate (document.go): the grammar, from "IAM JSON
//     policy element reference". Element names are case-sensitive; unknown
//     elements and duplicate JSON keys are errors; a statement without
//     Resource or NotResource is accepted only with a Principal or
//     NotPrincipal (trust policies) and then applies to every resource;
//     NotPrincipal only with Deny ("AWS JSON policy elements:
//     NotPrincipal").
//   - Like, ActionMatches, ResourceMatches (match.go): wildcards. Actions
//     match case-insensitively over the whole name; resources
//     case-sensitively, with wildcards confined to an ARN segment unless
//     the * ends the segment ("IAM JSON policy elements: Resource"); ARN
//     condition operators compare the six colon-separated parts one by one.
//   - Conditions (condition.go), from "IAM JSON policy elements: Condition
//     operators", "Conditions with multiple context keys or values" and
//     "Single-valued vs. multivalued context keys":
//     operators AND-ed, keys AND-ed, listed values OR-ed (for a negated
//     operator: the request value equals none of them). A key absent from
//     the request makes a positive operator false and a negated one true;
//     ...IfExists is true; Null true holds when the key is absent, Null
//     false when present; a key given with no values counts as absent.
//     Without a set prefix, a key with several request values is treated
//     as ForAnyValue for a positive operator, and a negated operator is the
//     exact complement (no request value matches any listed value).
//     ForAllValues holds when every request value matches (so also when the
//     key is absent or empty); ForAnyValue when one does (so never when
//     absent); with a negated operator the negation applies to each request
//     value (ForAllValues:StringNotEquals: every value differs from all
//     listed values). A set operator with IfExists is true when the key is
//     absent, as the Condition operators page says of IfExists. Supported
//     operators: String*, Arn*, Bool, Null, Numeric*, each with IfExists
//     (not Null), and ForAllValues:/ForAnyValue: on the String and Arn
//     operators. Bool and Null take exactly "true" or "false".
//   - Evaluate (evaluate.go), from "Policy evaluation logic", "Policy
//     evaluation for requests within a single account", "Cross-account
//     policy evaluation logic" and "Key policies in AWS KMS": an explicit
//     Deny anywhere wins; a cross-account request needs an Allow on both
//     sides; within one account an Allow in either kind of policy allows,
//     except that a resource-policy Allow naming only the account delegates
//     to IAM; a KMS key policy must allow, directly or by delegating to the
//     account (then IAM must allow too). A ResourceAccount of "" counts as
//     the caller's account. A service principal is allowed only by a
//     resource policy.
//
// # What it does not model
//
// Permissions boundaries, service control policies and resource control
// policies, session policies, KMS grants, S3 ACLs, policy variables
// (${aws:username}: resolve CloudFormation substitutions before), the
// Date, IpAddress and Binary condition operators, the implicit rights of
// the account root user, and which condition keys AWS puts in a request
// context: the caller fills Request.Keys (Request.WithGlobalKeys adds the
// principal and account keys).
package policy
