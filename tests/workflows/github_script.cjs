// Runs the script of an actions/github-script step against a fake GitHub, as github-script would:
// an async function of (require, github, context, core). Only the REST methods our workflows use
// exist; calling any other fails the step, so a workflow that starts using more fails its tests.
//
// usage: node github_script.cjs REQUEST.json RESPONSE.json
//   REQUEST:  {script, context, state}   RESPONSE: {ok, error, log, state, calls}
'use strict';
const fs = require('fs');

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const state = request.state;
const calls = [];
const log = [];
let failed = null;

const bot = { login: 'github-actions[bot]', type: 'Bot' };

function httpError(status, message) {
  const error = new Error(message);
  error.status = status;
  return error;
}

function call(name, params, write) {
  calls.push({ method: name, params });
  if (write && state.read_only) {
    throw httpError(403, 'Resource not accessible by integration');
  }
}

function issueLabels(number) {
  const key = String(number);
  state.issue_labels[key] = state.issue_labels[key] || [];
  return state.issue_labels[key];
}

const issues = {
  async listComments(p) {
    call('issues.listComments', p, false);
    return { data: state.comments.filter((c) => c.issue_number === p.issue_number) };
  },
  async createComment(p) {
    call('issues.createComment', p, true);
    const comment = {
      id: state.next_id++, issue_number: p.issue_number, body: p.body, user: bot,
      html_url: `https://github.invalid/comments/${state.next_id}`,
    };
    state.comments.push(comment);
    return { data: comment };
  },
  async updateComment(p) {
    call('issues.updateComment', p, true);
    const comment = state.comments.find((c) => c.id === p.comment_id);
    if (!comment) throw httpError(404, 'Not Found');
    comment.body = p.body;
    return { data: comment };
  },
  async getLabel(p) {
    call('issues.getLabel', p, false);
    const label = state.labels.find((l) => l.name === p.name);
    if (!label) throw httpError(404, 'Not Found');
    return { data: label };
  },
  async createLabel(p) {
    call('issues.createLabel', p, true);
    if (state.labels.some((l) => l.name === p.name)) throw httpError(422, 'already_exists');
    const label = { name: p.name, color: p.color, description: p.description };
    state.labels.push(label);
    return { data: label };
  },
  async addLabels(p) {
    call('issues.addLabels', p, true);
    const labels = issueLabels(p.issue_number);
    for (const name of p.labels) {
      if (!state.labels.some((l) => l.name === name)) state.labels.push({ name, color: 'ededed', description: '' });
      if (!labels.includes(name)) labels.push(name);
    }
    return { data: labels.map((name) => ({ name })) };
  },
  async removeLabel(p) {
    call('issues.removeLabel', p, true);
    const labels = issueLabels(p.issue_number);
    if (!labels.includes(p.name)) throw httpError(404, 'Label does not exist');
    labels.splice(labels.indexOf(p.name), 1);
    return { data: labels.map((name) => ({ name })) };
  },
  async listForRepo(p) {
    call('issues.listForRepo', p, false);
    const wanted = (p.labels || '').split(',').filter(Boolean);
    const data = state.issues.filter((i) => (p.state === 'all' || i.state === (p.state || 'open'))
      && wanted.every((name) => issueLabels(i.number).includes(name)))
      .map((i) => ({ ...i, labels: issueLabels(i.number).map((name) => ({ name })) }));
    return { data };
  },
  async create(p) {
    call('issues.create', p, true);
    const issue = { number: state.next_id++, title: p.title, body: p.body, state: 'open', user: bot };
    state.issues.push(issue);
    for (const name of p.labels || []) issueLabels(issue.number).push(name);
    return { data: issue };
  },
  async update(p) {
    call('issues.update', p, true);
    const issue = state.issues.find((i) => i.number === p.issue_number);
    if (!issue) throw httpError(404, 'Not Found');
    for (const key of ['title', 'body', 'state', 'state_reason']) {
      if (p[key] !== undefined) issue[key] = p[key];
    }
    return { data: issue };
  },
};

const repos = {
  async listPullRequestsAssociatedWithCommit(p) {
    call('repos.listPullRequestsAssociatedWithCommit', p, false);
    return { data: state.pulls.filter((pull) => (pull.commits || []).includes(p.commit_sha)) };
  },
};

const pulls = {
  async list(p) {
    call('pulls.list', p, false);
    const branch = (p.head || '').split(':').pop();
    return { data: state.pulls.filter((pull) => (pull.state || 'open') === (p.state || 'open') && pull.head === branch) };
  },
  async create(p) {
    call('pulls.create', p, true);
    const pull = { number: state.next_id++, title: p.title, body: p.body, head: p.head, base: p.base, state: 'open' };
    state.pulls.push(pull);
    return { data: pull };
  },
  async update(p) {
    call('pulls.update', p, true);
    const pull = state.pulls.find((candidate) => candidate.number === p.pull_number);
    if (!pull) throw httpError(404, 'Not Found');
    for (const key of ['title', 'body', 'state']) {
      if (p[key] !== undefined) pull[key] = p[key];
    }
    return { data: pull };
  },
};

const github = {
  rest: { issues, repos, pulls },
  async paginate(method, params) {
    const { data } = await method(params);
    return data;
  },
};

const core = {
  info: (message) => log.push(`${message}`),
  notice: (message) => log.push(`::notice::${message}`),
  warning: (message) => log.push(`::warning::${message}`),
  error: (message) => log.push(`::error::${message}`),
  debug: () => {},
  setFailed: (message) => {
    failed = `${message}`;
    log.push(`::error::${message}`);
  },
};

function finish(ok, error) {
  fs.writeFileSync(process.argv[3], JSON.stringify({
    ok: ok && failed === null, error: error || failed, log: log.join('\n'), state, calls,
  }));
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const script = new AsyncFunction('require', 'github', 'context', 'core', request.script);
script(require, github, request.context, core).then(
  () => finish(true, null),
  (error) => finish(false, error && error.stack ? error.stack : String(error)),
);
