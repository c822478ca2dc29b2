// Validates a CloudFormation template written by `dormc gen --infra` against
// the CloudFormation resource specification (@aws-cdk/aws-service-spec,
// pinned in package-lock.json) without deploying it:
//
//   - every resource type exists; every property exists on its type, has the
//     right shape (string, integer, boolean, list, map, nested structure) and
//     every required property is there;
//   - every Ref, Fn::GetAtt, Fn::Sub ${...} and DependsOn names a parameter,
//     a resource (with an attribute its type has) or a pseudo parameter;
//     every Fn::If names a condition;
//   - every IAM statement's Resource names a resource of this template
//     (only X-Ray's actions, which take no resource, may use "*"), and no
//     action is a wildcard;
//   - what fails without a metrics line of the runtime is watched: every
//     Lambda function by an alarm on its AWS/Lambda Errors (Lambda's timeout,
//     a crash, out of memory), every event source mapping's failure queue by
//     an alarm on its AWS/SQS ApproximateNumberOfMessagesVisible (records that
//     failed every retry).
//
// usage: node validate.mjs TEMPLATE.json    (exit 0: valid; 1: the problems,
// one per line; 77: the spec package is not installed)
import { readFileSync } from 'node:fs';

let loadAwsServiceSpec;
try {
  ({ loadAwsServiceSpec } = await import('@aws-cdk/aws-service-spec'));
} catch {
  console.log('infra validate: SKIPPED: tests/infra/node_modules is missing (scripts/setup.sh; or: cd tests/infra && npm ci)');
  process.exit(77);
}

const file = process.argv[2];
const tpl = JSON.parse(readFileSync(file, 'utf8'));
const db = await loadAwsServiceSpec();
const problems = [];
const PSEUDO = new Set(['AWS::AccountId', 'AWS::Region', 'AWS::StackName', 'AWS::StackId', 'AWS::Partition',
  'AWS::URLSuffix', 'AWS::NoValue', 'AWS::NotificationARNs']);
const params = tpl.Parameters ?? {};
const resources = tpl.Resources ?? {};
const conditions = tpl.Conditions ?? {};

function specOf(type) {
  const r = db.lookup('resource', 'cloudFormationType', 'equals', type);
  return r.length === 1 ? r[0] : null;
}

// ---------------------------------------------------------------- references

function checkRef(name, where) {
  if (PSEUDO.has(name) || name in params || name in resources) return;
  problems.push(`${where}: Ref ${name} names no parameter, resource or pseudo parameter`);
}

function checkGetAtt(res, attr, where) {
  const r = resources[res];
  if (!r) {
    problems.push(`${where}: Fn::GetAtt names no resource ${res}`);
    return;
  }
  const spec = specOf(r.Type);
  if (spec && !(attr in (spec.attributes ?? {}))) problems.push(`${where}: ${r.Type} has no attribute ${attr} (Fn::GetAtt ${res}.${attr})`);
}

function checkSub(text, where) {
  for (const m of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
    const [name, ...attr] = m[1].split('.');
    if (attr.length) checkGetAtt(name, attr.join('.'), where);
    else checkRef(name, where);
  }
}

const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::If', 'Fn::Join', 'Fn::Select', 'Fn::Split',
  'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Fn::FindInMap', 'Fn::ImportValue', 'Fn::GetAZs', 'Fn::Base64']);

function isIntrinsic(v) {
  return v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && INTRINSICS.has(Object.keys(v)[0]);
}

/** Walks every value for references (anywhere in the template). */
function walkRefs(v, where) {
  if (Array.isArray(v)) { v.forEach((x, i) => walkRefs(x, `${where}[${i}]`)); return; }
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'Ref') checkRef(x, where);
    else if (k === 'Fn::GetAtt') {
      if (!Array.isArray(x) || x.length !== 2) problems.push(`${where}: Fn::GetAtt takes [resource, attribute]`);
      else checkGetAtt(x[0], x[1], where);
    } else if (k === 'Fn::Sub') {
      if (typeof x === 'string') checkSub(x, where);
      else problems.push(`${where}: Fn::Sub with a variable map is not used by the generator`);
    } else if (k === 'Fn::If') {
      if (!Array.isArray(x) || x.length !== 3 || !(x[0] in conditions)) problems.push(`${where}: Fn::If names no condition (${JSON.stringify(x?.[0])})`);
    }
    walkRefs(x, `${where}.${k}`);
  }
}

// ---------------------------------------------------------------- property types

function paramKind(name) {
  const p = params[name];
  if (!p) return null;
  return p.Type;
}

/** Whether value fits spec type t (intrinsics are taken as the type they stand for). */
function fits(t, value, where, depth = 0) {
  if (depth > 20) return true;
  if (isIntrinsic(value)) {
    // a parameter's declared type must fit too
    if ('Ref' in value) {
      const k = paramKind(value.Ref);
      if (k === 'Number' && !['integer', 'number', 'string', 'union', 'json'].includes(t.type)) {
        problems.push(`${where}: a Number parameter (${value.Ref}) where ${t.type} is expected`);
      }
      if (k === 'String' && ['integer', 'number', 'boolean'].includes(t.type)) {
        problems.push(`${where}: a String parameter (${value.Ref}) where ${t.type} is expected`);
      }
    }
    if ('Fn::If' in value && Array.isArray(value['Fn::If'])) {
      const [, a, b] = value['Fn::If'];
      const noValue = (x) => x && x.Ref === 'AWS::NoValue';
      return (noValue(a) || fits(t, a, where, depth + 1)) && (noValue(b) || fits(t, b, where, depth + 1));
    }
    return true;
  }
  switch (t.type) {
    case 'string': case 'date-time': return typeof value === 'string';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    case 'json': return true;
    case 'null': return value === null;
    case 'tag': return value && typeof value === 'object' && 'Key' in value && 'Value' in value;
    case 'array':
      return Array.isArray(value) && value.every((x, i) => fits(t.element, x, `${where}[${i}]`, depth + 1));
    case 'map':
      return value && typeof value === 'object' && !Array.isArray(value) &&
        Object.entries(value).every(([k, x]) => fits(t.element, x, `${where}.${k}`, depth + 1));
    case 'union': {
      // report the problems of the best alternative only
      const saved = problems.length;
      for (const alt of t.types) {
        const before = problems.length;
        if (fits(alt, value, where, depth + 1) && problems.length === before) {
          problems.length = saved;
          return true;
        }
        problems.length = before;
      }
      return false;
    }
    case 'ref': {
      const def = db.get('typeDefinition', t.reference.$ref);
      if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
      checkProps(def.properties, value, `${where}`, depth + 1);
      return true;
    }
    default:
      return true;
  }
}

function checkProps(spec, props, where, depth = 0) {
  for (const [k, v] of Object.entries(props)) {
    const p = spec[k];
    if (!p) { problems.push(`${where}: no property ${k}`); continue; }
    if (!fits(p.type, v, `${where}.${k}`, depth)) problems.push(`${where}.${k}: ${JSON.stringify(v).slice(0, 120)} is not ${JSON.stringify(p.type).slice(0, 160)}`);
  }
  for (const [k, p] of Object.entries(spec)) if (p.required && !(k in props)) problems.push(`${where}: required property ${k} is missing`);
}

// ---------------------------------------------------------------- IAM

function namesTemplateResource(r) {
  if (r === '*') return false;
  if (!isIntrinsic(r)) return false;
  // a resource outside the template (a KMS key) given as a parameter that
  // only takes one ARN: never "*" or a pattern
  if ('Ref' in r && r.Ref in params) return /^arn:/.test(params[r.Ref].AllowedPattern ?? '') && !/\*/.test(params[r.Ref].Default ?? '');
  if ('Ref' in r) return r.Ref in resources;
  if ('Fn::GetAtt' in r) return r['Fn::GetAtt'][0] in resources;
  if ('Fn::Sub' in r) return [...r['Fn::Sub'].matchAll(/\$\{([^}.]+)/g)].some((m) => m[1] in resources);
  return false;
}

function checkPolicy(doc, where) {
  for (const [i, st] of (doc.Statement ?? []).entries()) {
    const actions = [].concat(st.Action);
    const res = [].concat(st.Resource);
    for (const a of actions) if (/\*/.test(a)) problems.push(`${where}.Statement[${i}]: wildcard action ${a}`);
    const xrayOnly = actions.every((a) => a.startsWith('xray:'));
    for (const r of res) {
      if (r === '*' && xrayOnly) continue;
      if (!namesTemplateResource(r)) problems.push(`${where}.Statement[${i}]: Resource ${JSON.stringify(r)} names no resource of the template`);
    }
  }
}

// ---------------------------------------------------------------- alarms

function watched(namespace, metric, dimName, matches) {
  return Object.values(resources).some((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === namespace &&
    r.Properties.MetricName === metric && (r.Properties.Dimensions ?? []).some((d) => d.Name === dimName && matches(d.Value)));
}

function checkAlarms() {
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::Lambda::Function' && !watched('AWS/Lambda', 'Errors', 'FunctionName', (v) => v?.Ref === id))
      problems.push(`${id}: no alarm on its AWS/Lambda Errors (a timeout or a crash writes no metrics line)`);
    const dest = r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.DestinationConfig?.OnFailure?.Destination;
    const queue = dest?.['Fn::GetAtt']?.[0];
    if (queue && resources[queue]?.Type === 'AWS::SQS::Queue' &&
        !watched('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', (v) => v?.['Fn::GetAtt']?.[0] === queue))
      problems.push(`${id}: its failure queue ${queue} has no alarm on ApproximateNumberOfMessagesVisible`);
    const fn = r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName?.Ref;
    if (fn && !watched('AWS/Lambda', 'IteratorAge', 'FunctionName', (v) => v?.Ref === fn))
      problems.push(`${id}: no alarm on ${fn}'s IteratorAge (a stream falling behind starts every job late)`);
  }
}

// ---------------------------------------------------------------- the template

if (tpl.AWSTemplateFormatVersion !== '2010-09-09') problems.push('AWSTemplateFormatVersion must be 2010-09-09');
if (!Object.keys(resources).length) problems.push('no Resources');
for (const [id, r] of Object.entries(resources)) {
  if (!/^[A-Za-z0-9]{1,255}$/.test(id)) problems.push(`${id}: logical ids are alphanumeric`);
  const spec = specOf(r.Type);
  if (!spec) { problems.push(`${id}: no resource type ${r.Type}`); continue; }
  checkProps(spec.properties, r.Properties ?? {}, `${id}(${r.Type})`);
  for (const d of [].concat(r.DependsOn ?? [])) if (!(d in resources)) problems.push(`${id}: DependsOn ${d} is no resource`);
  if (r.Type === 'AWS::IAM::Role') {
    for (const [i, p] of (r.Properties.Policies ?? []).entries()) checkPolicy(p.PolicyDocument, `${id}.Policies[${i}]`);
  }
}
for (const [name, p] of Object.entries(params)) {
  if (!['String', 'Number', 'CommaDelimitedList', 'List<Number>'].includes(p.Type)) problems.push(`parameter ${name}: type ${p.Type}`);
  if ('Default' in p && p.AllowedValues && !p.AllowedValues.includes(p.Default)) problems.push(`parameter ${name}: Default not allowed`);
}
checkAlarms();
walkRefs(resources, 'Resources');
walkRefs(tpl.Outputs ?? {}, 'Outputs');
walkRefs(conditions, 'Conditions');

if (problems.length) {
  for (const p of problems) console.log(p);
  console.log(`${file}: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`${file}: ${Object.keys(resources).length} resources valid against the CloudFormation resource specification`);
