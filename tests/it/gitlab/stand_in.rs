//! A stateful stand-in for the part of GitLab's REST API docsync uses: it
//! keeps users and their tokens, one project, its members, merge requests,
//! their notes and the project's deployments, and answers the way GitLab
//! does — including pagination (`page`, `per_page` default 20 and at most
//! 100, `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`
//! empty on the last page, `X-Prev-Page`, and a `Link` header), 401 for an
//! unknown token, 403 `insufficient_scope` for a token whose scopes do not
//! cover the call, 404 for what does not exist and 409 for a second open
//! merge request from one branch.
//!
//! Merge requests carry their `diff_refs` and their diff ("Get single MR",
//! "List merge request diffs": <https://docs.gitlab.com/api/merge_requests/>),
//! and threads on the diff are kept as GitLab keeps them ("Discussions
//! API": <https://docs.gitlab.com/api/discussions/>): created, listed with
//! pagination, resolved. A thread's `position` is checked against the
//! merge request's diff as GitLab checks it: an added line takes
//! `new_line` only, a removed line `old_line` only, an unchanged line in
//! a hunk both (gitlab-org/gitlab issue 35935); any other position, or
//! SHAs other than the latest `diff_refs`, gets GitLab's
//! `400 Bad request - Note {:line_code=>["can't be blank", "must be a
//! valid line code"]}` and is recorded in [`State::refused_positions`].
//!
//! Faults a real GitLab makes only now and then are switched on in
//! [`State`]: an answer lost after the write was done (502), a merge
//! request answer without `web_url`, a `status` filter that is ignored,
//! and another job's write to the same note landing right after one of
//! docsync's (GitLab has no conditional update of a note: the last write
//! wins).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const PROJECT_ID: u64 = 42;
pub const PROJECT_PATH: &str = "group/project";
pub const PROJECT_WEB_URL: &str = "https://gitlab.example.com/group/project";

/// A token and what GitLab knows about it.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub user: Value,
    pub scopes: Vec<String>,
    /// `GET /personal_access_tokens/self`, as GitLab answers it.
    pub info: Value,
}

#[derive(Default)]
pub struct State {
    pub tokens: Vec<Token>,
    /// user id → access level on the project.
    pub members: BTreeMap<u64, u32>,
    pub default_branch: Option<String>,
    pub merge_requests: Vec<Value>,
    /// merge request iid → notes, oldest first.
    pub notes: BTreeMap<u64, Vec<Value>>,
    /// Newest first, as `order_by=finished_at&sort=desc` lists them.
    pub deployments: Vec<Value>,
    /// merge request iid → its diff, one entry per file, as "List merge
    /// request diffs" answers it.
    pub diffs: BTreeMap<u64, Vec<Value>>,
    /// merge request iid → its threads, oldest first.
    pub discussions: BTreeMap<u64, Vec<Value>>,
    /// The positions refused with 400, as sent.
    pub refused_positions: Vec<Value>,
    /// `"POST /notes"`-style faults: the write is done, then the answer is
    /// a 502, once per entry.
    pub lose_answer_of: Vec<&'static str>,
    /// Merge requests are answered without `web_url`.
    pub omit_web_url: bool,
    /// The deployments' `status` filter is ignored, as by a careless proxy.
    pub ignore_status_filter: bool,
    /// After the next `PUT` of a note, another job that read the note
    /// before that write writes what it read back, once: the `PUT`'s
    /// change is lost, as it is when two jobs read, then write, at once.
    pub stale_write_after_put: bool,
    next_id: u64,
    clock: u64,
}

impl State {
    pub fn new() -> State {
        State { default_branch: Some("main".into()), next_id: 1000, ..State::default() }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A timestamp later than every earlier one.
    fn now(&mut self) -> String {
        self.clock += 1;
        format!("2026-11-22T{:02}:{:02}:{:02}.000Z", 10 + self.clock / 3600, (self.clock / 60) % 60, self.clock % 60)
    }

    pub fn add_token(&mut self, value: &str, user: Value, scopes: &[&str], access_level: Option<u32>) {
        let user_id = user["id"].as_u64().expect("the user has an id");
        let info = json!({
            "id": user_id + 10_000, "name": "docsync", "revoked": false, "active": true,
            "created_at": "2026-06-01T09:00:00.000Z", "scopes": scopes, "user_id": user_id,
            "last_used_at": null, "expires_at": "2099-01-01",
        });
        if let Some(level) = access_level {
            self.members.insert(user_id, level);
        }
        self.tokens.push(Token {
            value: value.into(),
            user,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            info,
        });
    }

    /// A note by `author`, as if written now.
    pub fn add_note(&mut self, iid: u64, author: &Value, body: &str) -> u64 {
        let id = self.id();
        let at = self.now();
        let note = json!({
            "id": id, "type": null, "body": body, "attachment": null,
            "author": { "id": author["id"], "username": author["username"], "name": author["name"], "state": "active" },
            "created_at": at, "updated_at": at, "system": false, "noteable_id": 9104,
            "noteable_type": "MergeRequest", "project_id": PROJECT_ID, "resolvable": false,
            "confidential": false, "internal": false, "noteable_iid": iid,
        });
        self.notes.entry(iid).or_default().push(note);
        id
    }

    /// Merge request `iid` from `feature` into `main`, whose latest diff is
    /// `files` (each `{old_path, new_path, diff, new_file, renamed_file,
    /// deleted_file}`) between `base` and `head`.
    pub fn add_merge_request(&mut self, iid: u64, author: &Value, base: &str, head: &str, files: Vec<Value>) {
        let id = self.id();
        let at = self.now();
        self.merge_requests.retain(|mr| mr["iid"] != iid);
        self.merge_requests.push(json!({
            "id": id, "iid": iid, "project_id": PROJECT_ID, "title": "Reorganise the docs", "description": "",
            "state": "opened", "created_at": at, "updated_at": at, "source_branch": "feature",
            "target_branch": "main", "author": { "id": author["id"], "username": author["username"] },
            "sha": head, "web_url": format!("{PROJECT_WEB_URL}/-/merge_requests/{iid}"),
            "diff_refs": { "base_sha": base, "start_sha": base, "head_sha": head },
        }));
        self.diffs.insert(iid, files);
        self.notes.entry(iid).or_default();
        self.discussions.entry(iid).or_default();
    }

    /// A new push to merge request `iid`: its latest diff is now `files`,
    /// between `base` and `head`.
    pub fn push_to_merge_request(&mut self, iid: u64, base: &str, head: &str, files: Vec<Value>) {
        if let Some(mr) = self.merge_requests.iter_mut().find(|mr| mr["iid"] == iid) {
            mr["sha"] = json!(head);
            mr["diff_refs"] = json!({ "base_sha": base, "start_sha": base, "head_sha": head });
        }
        self.diffs.insert(iid, files);
    }

    pub fn add_deployment(&mut self, sha: &str, status: &str) {
        let id = self.id();
        let deployment = json!({
            "id": id, "iid": id, "ref": "main", "sha": sha, "status": status,
            "created_at": "2026-11-20T10:00:00.000Z", "updated_at": "2026-11-20T10:05:00.000Z",
            "environment": { "id": 9, "name": "docs/gitbook" },
        });
        self.deployments.insert(0, deployment);
    }
}

/// Mount with `Mock::given(path_regex("^(/gitlab)?/api/v4/")).respond_with(stand_in.clone())`.
#[derive(Clone)]
pub struct StandIn {
    pub state: Arc<Mutex<State>>,
}

impl StandIn {
    pub fn new(state: State) -> StandIn {
        StandIn { state: Arc::new(Mutex::new(state)) }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
}

fn insufficient_scope(scope: &str) -> ResponseTemplate {
    ResponseTemplate::new(403)
        .insert_header(
            "www-authenticate",
            format!("Bearer realm=\"\", error=\"insufficient_scope\", scope=\"{scope}\"").as_str(),
        )
        .set_body_json(json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": scope,
        }))
}

fn query(request: &Request, key: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// One page of `items`, with GitLab's pagination headers.
fn paginate(request: &Request, items: Vec<Value>) -> ResponseTemplate {
    let per_page = query(request, "per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(20).clamp(1, 100);
    let page = query(request, "page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let shown: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let link_to = |number: usize| {
        let mut url = request.url.clone();
        let pairs: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| k != "page").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        url.query_pairs_mut().clear().extend_pairs(pairs).append_pair("page", &number.to_string());
        url.to_string()
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
    }
    links.push(format!("<{}>; rel=\"first\"", link_to(1)));
    links.push(format!("<{}>; rel=\"last\"", link_to(pages)));
    let next = if page < pages { (page + 1).to_string() } else { String::new() };
    let prev = if page > 1 { (page - 1).to_string() } else { String::new() };
    ResponseTemplate::new(200)
        .insert_header("x-page", page.to_string().as_str())
        .insert_header("x-per-page", per_page.to_string().as_str())
        .insert_header("x-total", total.to_string().as_str())
        .insert_header("x-total-pages", pages.to_string().as_str())
        .insert_header("x-next-page", next.as_str())
        .insert_header("x-prev-page", prev.as_str())
        .insert_header("link", links.join(", ").as_str())
        .set_body_json(Value::Array(shown))
}

impl Respond for StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.with(|state| state.answer(request))
    }
}

impl State {
    fn token(&self, request: &Request) -> Option<Token> {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let value = header("private-token")
            .or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned)))
            .or_else(|| header("job-token"))?;
        self.tokens.iter().find(|t| t.value == value).cloned()
    }

    fn project(&self) -> Value {
        json!({
            "id": PROJECT_ID, "name": "project", "path": "project", "path_with_namespace": PROJECT_PATH,
            "web_url": PROJECT_WEB_URL, "default_branch": self.default_branch,
            "http_url_to_repo": format!("{PROJECT_WEB_URL}.git"), "visibility": "private",
        })
    }

    fn answer(&mut self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        let Some(rest) = path.split_once("/api/v4/").map(|(_, rest)| rest.to_owned()) else {
            return error(404, "404 Not Found");
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let method = request.method.as_str();
        let Some(token) = self.token(request) else { return error(401, "401 Unauthorized") };
        let has = |scopes: &[&str]| token.scopes.iter().any(|s| scopes.contains(&s.as_str()));
        let reads = has(&["api", "read_api"]);
        match (method, segments.as_slice()) {
            // Any token may read its own record, whatever its scopes.
            ("GET", ["personal_access_tokens", "self"]) => ResponseTemplate::new(200).set_body_json(token.info.clone()),
            ("GET", ["user"]) if has(&["api", "read_api", "read_user"]) => {
                ResponseTemplate::new(200).set_body_json(token.user.clone())
            }
            ("GET", ["user"]) => insufficient_scope("api read_api read_user"),
            (_, ["projects", id, ..]) if *id != PROJECT_ID.to_string() && *id != "group%2Fproject" => {
                error(404, "404 Project Not Found")
            }
            ("GET", ["projects", ..]) if !reads => insufficient_scope("api read_api"),
            (_, ["projects", _, ..]) if method != "GET" && !has(&["api"]) => insufficient_scope("api"),
            ("GET", ["projects", _]) => ResponseTemplate::new(200).set_body_json(self.project()),
            ("GET", ["projects", _, "members", "all", user]) => {
                let level = user.parse::<u64>().ok().and_then(|id| self.members.get(&id).copied());
                match level {
                    Some(level) => ResponseTemplate::new(200).set_body_json(json!({
                        "id": user.parse::<u64>().unwrap_or_default(), "username": token.user["username"],
                        "state": "active", "access_level": level,
                    })),
                    None => error(404, "404 Not found"),
                }
            }
            ("GET", ["projects", _, "deployments"]) => {
                let status = query(request, "status").filter(|_| !self.ignore_status_filter);
                let environment = query(request, "environment");
                let listed = self
                    .deployments
                    .iter()
                    .filter(|d| status.as_deref().is_none_or(|s| d["status"] == s))
                    .filter(|d| environment.as_deref().is_none_or(|e| d["environment"]["name"] == e))
                    .cloned()
                    .collect();
                paginate(request, listed)
            }
            ("GET", ["projects", _, "merge_requests"]) => {
                let wanted = |key: &str, mr: &Value| query(request, key).is_none_or(|v| mr[key] == v.as_str());
                let listed = self
                    .merge_requests
                    .iter()
                    .filter(|mr| wanted("source_branch", mr) && wanted("target_branch", mr) && wanted("state", mr))
                    .rev()
                    .map(|mr| self.shown_merge_request(mr))
                    .collect();
                paginate(request, listed)
            }
            ("POST", ["projects", _, "merge_requests"]) => self.create_merge_request(request, &token),
            ("GET", ["projects", _, "merge_requests", iid]) => {
                match self.merge_requests.iter().find(|mr| iid.parse::<u64>().is_ok_and(|iid| mr["iid"] == iid)) {
                    Some(mr) => ResponseTemplate::new(200).set_body_json(self.shown_merge_request(mr)),
                    None => error(404, "404 Not found"),
                }
            }
            ("GET", ["projects", _, "merge_requests", iid, "diffs"]) => {
                match iid.parse().ok().and_then(|iid: u64| self.diffs.get(&iid)) {
                    Some(files) => paginate(request, files.clone()),
                    None => error(404, "404 Not found"),
                }
            }
            ("GET", ["projects", _, "merge_requests", iid, "discussions"]) => {
                match iid.parse().ok().and_then(|iid: u64| self.discussions.get(&iid)) {
                    Some(threads) => paginate(request, threads.clone()),
                    None => error(404, "404 Not found"),
                }
            }
            ("POST", ["projects", _, "merge_requests", iid, "discussions"]) => {
                let Some(iid) = iid.parse::<u64>().ok().filter(|iid| self.discussions.contains_key(iid)) else {
                    return error(404, "404 Not found");
                };
                self.create_discussion(request, &token, iid)
            }
            ("PUT", ["projects", _, "merge_requests", iid, "discussions", id]) => {
                let iid = iid.parse::<u64>().unwrap_or_default();
                self.resolve_discussion(request, &token, iid, id)
            }
            ("GET", ["projects", _, "merge_requests", iid, "notes"]) => {
                let Some(notes) = iid.parse().ok().and_then(|iid: u64| self.notes.get(&iid)) else {
                    return error(404, "404 Not found");
                };
                let mut notes = notes.clone();
                let key = query(request, "order_by").unwrap_or_else(|| "created_at".into());
                notes.sort_by(|a, b| {
                    a[&key].as_str().cmp(&b[&key].as_str()).then(a["id"].as_u64().cmp(&b["id"].as_u64()))
                });
                if query(request, "sort").as_deref() != Some("asc") {
                    notes.reverse();
                }
                paginate(request, notes)
            }
            ("POST", ["projects", _, "merge_requests", iid, "notes"]) => {
                let Some(iid) = iid.parse::<u64>().ok().filter(|iid| self.notes.contains_key(iid)) else {
                    return error(404, "404 Not found");
                };
                let Some(body) = body_field(request, "body") else {
                    return error(400, "400 Bad request - body is missing");
                };
                let id = self.add_note(iid, &token.user, &body);
                let note = self.notes[&iid].iter().find(|n| n["id"] == id).cloned().unwrap_or_default();
                self.answer_or_lose("POST /notes", ResponseTemplate::new(201).set_body_json(note))
            }
            ("PUT", ["projects", _, "merge_requests", iid, "notes", note_id]) => {
                let at = self.now();
                let later = self.now();
                let Some(body) = body_field(request, "body") else {
                    return error(400, "400 Bad request - body is missing");
                };
                let found = iid.parse::<u64>().ok().and_then(|iid| self.notes.get_mut(&iid)).and_then(|notes| {
                    notes.iter_mut().find(|n| n["id"].as_u64().map(|id| id.to_string()).as_deref() == Some(note_id))
                });
                let Some(note) = found else { return error(404, "404 Note Not Found") };
                if note["author"]["id"] != token.user["id"] {
                    return error(403, "403 Forbidden");
                }
                let before = note["body"].clone();
                note["body"] = json!(body);
                note["updated_at"] = json!(at);
                let answered = note.clone();
                if std::mem::take(&mut self.stale_write_after_put) {
                    note["body"] = before;
                    note["updated_at"] = json!(later);
                }
                let note = answered;
                self.answer_or_lose("PUT /notes", ResponseTemplate::new(200).set_body_json(note))
            }
            _ => ResponseTemplate::new(599).set_body_string(format!("the stand-in has no route {method} {path}")),
        }
    }

    fn answer_or_lose(&mut self, fault: &'static str, answer: ResponseTemplate) -> ResponseTemplate {
        match self.lose_answer_of.iter().position(|f| *f == fault) {
            Some(index) => {
                self.lose_answer_of.remove(index);
                error(502, "502 Bad Gateway")
            }
            None => answer,
        }
    }

    /// "Create a new thread in the merge request diff"
    /// (<https://docs.gitlab.com/api/discussions/#create-a-new-thread-in-the-merge-request-diff>):
    /// `body`, and a `position` GitLab can place on the latest diff.
    fn create_discussion(&mut self, request: &Request, token: &Token, iid: u64) -> ResponseTemplate {
        let Some(body) = body_field(request, "body") else {
            return error(400, "400 Bad request - body is missing");
        };
        let sent: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let position = sent.get("position").cloned();
        if let Some(position) = &position {
            if !self.places(iid, position) {
                self.refused_positions.push(position.clone());
                return error(
                    400,
                    "400 Bad request - Note {:line_code=>[\"can't be blank\", \"must be a valid line code\"]}",
                );
            }
        }
        let at = self.now();
        let note_id = self.id();
        let discussion_id = format!("{:040x}", self.id());
        let note = json!({
            "id": note_id, "type": if position.is_some() { "DiffNote" } else { "DiscussionNote" },
            "body": body, "attachment": null,
            "author": { "id": token.user["id"], "username": token.user["username"], "name": token.user["name"], "state": "active" },
            "created_at": at, "updated_at": at, "system": false, "noteable_id": 9104,
            "noteable_type": "MergeRequest", "project_id": PROJECT_ID, "noteable_iid": iid,
            "resolvable": true, "resolved": false, "resolved_by": null, "resolved_at": null,
            "position": position,
        });
        let discussion = json!({ "id": discussion_id, "individual_note": false, "notes": [note] });
        self.discussions.entry(iid).or_default().push(discussion.clone());
        self.answer_or_lose("POST /discussions", ResponseTemplate::new(201).set_body_json(discussion))
    }

    /// Whether GitLab can place `position` on merge request `iid`'s latest
    /// diff: its SHAs are the `diff_refs`, its file is in the diff, and its
    /// line is one the diff shows, with the line fields that kind of line
    /// takes (gitlab-org/gitlab issue 35935).
    fn places(&self, iid: u64, position: &Value) -> bool {
        let Some(mr) = self.merge_requests.iter().find(|mr| mr["iid"] == iid) else { return false };
        let refs = &mr["diff_refs"];
        let same = |key: &str| position[key].is_string() && position[key] == refs[key];
        if position["position_type"] != "text" || !same("base_sha") || !same("start_sha") || !same("head_sha") {
            return false;
        }
        let Some(file) = self.diffs.get(&iid).and_then(|files| {
            files.iter().find(|f| f["new_path"] == position["new_path"] && f["old_path"] == position["old_path"])
        }) else {
            return false;
        };
        let (old_line, new_line) = (position["old_line"].as_u64(), position["new_line"].as_u64());
        diff_lines(file["diff"].as_str().unwrap_or_default()).iter().any(|line| match line {
            DiffLine::Added(new) => old_line.is_none() && new_line == Some(*new),
            DiffLine::Removed(old) => new_line.is_none() && old_line == Some(*old),
            DiffLine::Unchanged(old, new) => old_line == Some(*old) && new_line == Some(*new),
        })
    }

    /// "Resolve a merge request thread"
    /// (<https://docs.gitlab.com/api/discussions/#resolve-a-merge-request-thread>):
    /// `PUT …/discussions/:id?resolved=true`; the thread's notes are resolved.
    fn resolve_discussion(&mut self, request: &Request, token: &Token, iid: u64, id: &str) -> ResponseTemplate {
        let Some(resolved) = query(request, "resolved").map(|r| r == "true") else {
            return error(400, "400 Bad request - resolved is missing");
        };
        let at = self.now();
        let Some(thread) =
            self.discussions.get_mut(&iid).and_then(|threads| threads.iter_mut().find(|t| t["id"] == id))
        else {
            return error(404, "404 Not found");
        };
        if let Some(notes) = thread["notes"].as_array_mut() {
            for note in notes.iter_mut().filter(|n| n["resolvable"] == true) {
                note["resolved"] = json!(resolved);
                note["resolved_by"] = if resolved {
                    json!({ "id": token.user["id"], "username": token.user["username"] })
                } else {
                    Value::Null
                };
                note["resolved_at"] = if resolved { json!(at) } else { Value::Null };
            }
        }
        ResponseTemplate::new(200).set_body_json(thread.clone())
    }

    fn shown_merge_request(&self, mr: &Value) -> Value {
        let mut shown = mr.clone();
        if self.omit_web_url {
            shown["web_url"] = Value::Null;
        }
        shown
    }

    fn create_merge_request(&mut self, request: &Request, token: &Token) -> ResponseTemplate {
        let (Some(source), Some(target), Some(title)) =
            (body_field(request, "source_branch"), body_field(request, "target_branch"), body_field(request, "title"))
        else {
            return error(400, "400 Bad request - source_branch, target_branch or title is missing");
        };
        if let Some(open) = self.merge_requests.iter().find(|mr| {
            mr["source_branch"] == source.as_str() && mr["target_branch"] == target.as_str() && mr["state"] == "opened"
        }) {
            let message = format!("Another open merge request already exists for this source branch: !{}", open["iid"]);
            return ResponseTemplate::new(409).set_body_json(json!({ "message": [message] }));
        }
        let iid = self.merge_requests.len() as u64 + 1;
        let id = self.id();
        let at = self.now();
        let mr = json!({
            "id": id, "iid": iid, "project_id": PROJECT_ID, "title": title,
            "description": body_field(request, "description"), "state": "opened",
            "created_at": at, "updated_at": at, "source_branch": source, "target_branch": target,
            "author": { "id": token.user["id"], "username": token.user["username"] },
            "web_url": format!("{PROJECT_WEB_URL}/-/merge_requests/{iid}"),
        });
        self.merge_requests.push(mr.clone());
        self.notes.entry(iid).or_default();
        let shown = self.shown_merge_request(&mr);
        self.answer_or_lose("POST /merge_requests", ResponseTemplate::new(201).set_body_json(shown))
    }
}

fn body_field(request: &Request, key: &str) -> Option<String> {
    let body: Value = serde_json::from_slice(&request.body).ok()?;
    body.get(key)?.as_str().map(str::to_owned)
}

/// A line a unified diff shows: added (its new number), removed (its old
/// number) or unchanged (both).
enum DiffLine {
    Added(u64),
    Removed(u64),
    Unchanged(u64, u64),
}

fn diff_lines(diff: &str) -> Vec<DiffLine> {
    let mut lines = Vec::new();
    let (mut old, mut new) = (0, 0);
    for line in diff.lines() {
        if let Some(header) = line.strip_prefix("@@ ") {
            let start = |sign: char| {
                header
                    .split_whitespace()
                    .find_map(|part| part.strip_prefix(sign))
                    .and_then(|range| range.split(',').next()?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            (old, new) = (start('-'), start('+'));
        } else if line.starts_with('+') {
            lines.push(DiffLine::Added(new));
            new += 1;
        } else if line.starts_with('-') {
            lines.push(DiffLine::Removed(old));
            old += 1;
        } else if !line.starts_with('\\') {
            lines.push(DiffLine::Unchanged(old, new));
            (old, new) = (old + 1, new + 1);
        }
    }
    lines
}

/// A server whose `/api/v4/` is a stand-in holding `state`; other routes
/// are the caller's to mount (wiremock's catch-all names any it did not).
pub async fn serve(state: State) -> (MockServer, StandIn) {
    let server = crate::common::mock_server().await;
    let stand_in = StandIn::new(state);
    Mock::given(path_regex("^/api/v4/"))
        .respond_with(stand_in.clone())
        .with_priority(100)
        .named("the GitLab stand-in")
        .mount(&server)
        .await;
    (server, stand_in)
}
