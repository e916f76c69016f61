//! GET /api/v1/leads (issue 3): keyset pagination, every filter, malformed values, and
//! partner scope.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The lead IDs of one page and its `next_cursor`, checking the list envelope.
fn page(c: &Client, query: &str) -> (Vec<String>, Option<String>) {
    let r = c.list_leads(query);
    assert_ok(&r, 200);
    assert_eq!(
        keys(&r.body),
        ["data", "next_cursor", "success"],
        "{query}: {}",
        r.body
    );
    let ids = r.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: data is not a list: {}", r.body))
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap().to_string())
        .collect();
    let cursor = match &r.body["next_cursor"] {
        Value::Null => None,
        Value::String(s) => {
            assert!(!s.is_empty(), "{query}: empty cursor");
            Some(s.clone())
        }
        other => panic!("{query}: next_cursor is {other}"),
    };
    (ids, cursor)
}

/// The IDs of a filter's single page (asserting there is no next page).
fn ids(c: &Client, query: &str) -> Vec<String> {
    let (ids, cursor) = page(c, query);
    assert_eq!(cursor, None, "{query}");
    ids
}

/// Asserts the exact body of a list that matched nothing.
fn assert_empty(c: &Client, query: &str) {
    let r = c.list_leads(query);
    assert_eq!(
        r.body,
        json!({"success": true, "data": [], "next_cursor": null}),
        "{query}"
    );
    assert_eq!(r.status, 200);
}

/// Newest first: by the lead ID's date, then its daily sequence as a number.
fn newest_first(ids: &mut [String]) {
    ids.sort_by_key(|id| {
        let date: u64 = id[2..10].parse().unwrap();
        let seq: u64 = id[10..].parse().unwrap();
        std::cmp::Reverse((date, seq))
    });
}

fn create_many(app: &TestApp, from: usize, count: usize, threads: usize) -> Vec<String> {
    let per = count.div_ceil(threads);
    let mut out: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let c = app.admin();
                    (from + t * per..(from + (t + 1) * per).min(from + count))
                        .map(|i| c.new_lead(&format!("9{i:09}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    newest_first(&mut out);
    out
}

#[test]
fn pagination_over_250_leads_returns_each_exactly_once_newest_first() {
    let app = spawn_app();
    let c = app.admin();
    let all = create_many(&app, 0, 250, 4);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 250);

    // Default page: 20, with a cursor.
    let (first, cursor) = page(&c, "");
    assert_eq!(first, all[..20]);
    assert!(cursor.is_some());

    // limit=100, with leads created between the page fetches.
    let (p1, c1) = page(&c, "limit=100");
    assert_eq!(p1.len(), 100);
    let c1 = c1.expect("a second page");
    let later_a = create_many(&app, 1000, 5, 1);
    let (p2, c2) = page(&c, &format!("limit=100&cursor={}", qs(&c1)));
    assert_eq!(p2.len(), 100);
    let c2 = c2.expect("a third page");
    let later_b = create_many(&app, 2000, 3, 1);
    let (p3, c3) = page(&c, &format!("limit=100&cursor={}", qs(&c2)));
    assert_eq!(p3.len(), 50);
    assert_eq!(c3, None, "the last page has next_cursor null");
    let walked: Vec<String> = [p1, p2, p3].concat();
    assert_eq!(walked, all, "each lead exactly once, newest first");

    // A fresh walk sees the new leads first, then the rest.
    let mut now: Vec<String> = [later_b, later_a, all.clone()].concat();
    newest_first(&mut now);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(cur) => format!("limit=37&cursor={}", qs(cur)),
            None => "limit=37".to_string(),
        };
        let (ids, next) = page(&c, &q);
        assert!(ids.len() <= 37);
        walked.extend(ids);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(walked, now);
    assert_eq!(walked.len(), 258);

    // Leads created while a walk is under way: each older lead exactly once, and the new
    // ones only before them (on the first page, if at all).
    let creating = std::sync::atomic::AtomicBool::new(true);
    let (walked, extra) = std::thread::scope(|s| {
        let creator = s.spawn(|| {
            let c = app.admin();
            let mut made = Vec::new();
            for i in 0..20 {
                made.push(c.new_lead(&format!("8{i:09}")));
            }
            creating.store(false, std::sync::atomic::Ordering::SeqCst);
            made
        });
        let mut walked: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(cur) => format!("limit=25&cursor={}", qs(cur)),
                None => "limit=25".to_string(),
            };
            let (ids, next) = page(&c, &q);
            walked.extend(ids);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        (walked, creator.join().unwrap())
    });
    let unique: BTreeSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "a lead repeated");
    let mut sorted = walked.clone();
    newest_first(&mut sorted);
    assert_eq!(walked, sorted, "not newest first");
    let fresh = walked.len() - now.len();
    assert_eq!(walked[fresh..], now, "an older lead skipped");
    assert!(walked[..fresh].iter().all(|id| extra.contains(id)));

    // limit=1 is the lower bound.
    let mut current: Vec<String> = [extra, now].concat();
    newest_first(&mut current);
    let (one, next) = page(&c, "limit=1");
    assert_eq!(one, current[..1]);
    let (two, _) = page(&c, &format!("limit=1&cursor={}", qs(&next.unwrap())));
    assert_eq!(two, current[1..2]);
}

#[test]
fn every_filter_gives_the_exact_set() {
    let app = spawn_app();
    let admin = app.admin();
    let acme_key = app.create_key(Role::Partner, "Acme", None);
    let beta_key = app.create_key(Role::Partner, "Beta", None);
    let acme = app.with_key(&acme_key);
    let beta = app.with_key(&beta_key);
    let create = |c: &Client, body: Value| -> String {
        let r = c.create_lead(&body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]["lead_id"].as_str().unwrap().to_string()
    };
    let l1 = create(
        &admin,
        json!({"product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876500001", "dsa_code": "DSA001", "city": "Mumbai"}),
    );
    let l2 = create(
        &admin,
        json!({"product": "Home Loan", "customer_name": "राहुल वर्मा", "mobile": "9876500002", "dsa_code": "DSA002"}),
    );
    let l3 = create(
        &admin,
        json!({"product": "Insurance Services", "customer_name": "Anita RAHULKAR", "mobile": "9876500003"}),
    );
    let l4 = create(
        &acme,
        json!({"product": "Credit Card", "customer_name": "Meena Iyer", "mobile": "9876500004", "dsa_code": "ACME01"}),
    );
    let l5 = create(
        &acme,
        json!({"product": "Personal Loan", "customer_name": "Suresh Kumar", "mobile": "9876500005"}),
    );
    let r = admin.move_status(&l1, &json!({"status": "rejected"}));
    assert_eq!(r.status, 200, "{}", r.body);

    let v = |list: &[&String]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = v(&[&l5, &l4, &l3, &l2, &l1]);
    assert_eq!(ids(&admin, ""), all);

    // Each listed lead is the lead as GET /leads/{id} shows it.
    let r = admin.list_leads("");
    for item in r.body["data"].as_array().unwrap() {
        let one = admin.lead(item["lead_id"].as_str().unwrap());
        assert_eq!(item, &one.body["data"]);
    }

    let cases: Vec<(String, Vec<String>)> = vec![
        ("status=document_pending".into(), v(&[&l5, &l4, &l2])),
        ("status=under_review".into(), v(&[&l3])),
        ("status=rejected".into(), v(&[&l1])),
        (format!("product={}", qs("Personal Loan")), v(&[&l5, &l1])),
        ("product=PERSONAL_LOAN".into(), v(&[&l5, &l1])),
        (format!("product={}", qs(" personal loan ")), v(&[&l5, &l1])),
        ("product=home_loan".into(), v(&[&l2])),
        ("dsa_code=DSA001".into(), v(&[&l1])),
        ("dsa_code=dsa002".into(), v(&[&l2])),
        (format!("mobile={}", qs("+91 98765 00002")), v(&[&l2])),
        (format!("mobile={}", qs("098765-00002")), v(&[&l2])),
        ("mobile=919876500002".into(), v(&[&l2])),
        ("mobile=9876500004".into(), v(&[&l4])),
        ("q=rahul".into(), v(&[&l3, &l1])),
        ("q=RAHUL".into(), v(&[&l3, &l1])),
        (format!("q={}", qs("rAhUl sH")), v(&[&l1])),
        (format!("q={}", qs("राहुल")), v(&[&l2])),
        (format!("q={}", qs("वर्मा")), v(&[&l2])),
        ("q=iyer".into(), v(&[&l4])),
        (
            format!("status=document_pending&product={}", qs("Personal Loan")),
            v(&[&l5]),
        ),
        ("q=rahul&status=rejected".into(), v(&[&l1])),
    ];
    for (q, want) in &cases {
        assert_eq!(&ids(&admin, q), want, "{q}");
    }

    // Dates, in the office's local calendar.
    let local = chrono::Utc::now().with_timezone(&ist()).date_naive();
    let d = |days: i64| {
        (local + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert_eq!(ids(&admin, &format!("created_from={}", d(0))), all);
    assert_eq!(ids(&admin, &format!("created_to={}", d(0))), all);
    assert_eq!(
        ids(
            &admin,
            &format!("created_from={}&created_to={}", d(0), d(0))
        ),
        all
    );
    assert_eq!(ids(&admin, &format!("created_from={}", d(-1))), all);
    assert_empty(&admin, &format!("created_from={}", d(1)));
    assert_empty(&admin, &format!("created_to={}", d(-1)));

    // updated_since: what changed after a moment.
    let since_ms = chrono::Utc::now().timestamp_millis();
    while chrono::Utc::now().timestamp_millis() <= since_ms {
        std::hint::spin_loop();
    }
    let since = chrono::DateTime::from_timestamp_millis(since_ms).unwrap();
    let r = admin.patch_lead(&l2, &json!({"city": "Pune"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin.add_note(&l3, &json!({"note": "Asked for a callback."}));
    assert_eq!(r.status, 201, "{}", r.body);
    let local_since = since
        .with_timezone(&ist())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let utc_since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(
        ids(&admin, &format!("updated_since={}", qs(&local_since))),
        v(&[&l3, &l2])
    );
    assert_eq!(
        ids(&admin, &format!("updated_since={}", qs(&utc_since))),
        v(&[&l3, &l2])
    );
    assert_eq!(
        ids(
            &admin,
            &format!("updated_since={}", qs("2000-01-01T00:00:00+05:30"))
        ),
        all
    );
    assert_empty(
        &admin,
        &format!("updated_since={}", qs("2999-01-01T00:00:00+05:30")),
    );
    // An offset's + left unencoded (read as a space) is still the offset.
    assert_eq!(ids(&admin, "updated_since=2000-01-01T00:00:00+05:30"), all);
    // "At or after": a lead changed at exactly the instant asked for is in.
    let at_ms: i64 = 4_102_444_800_123; // 2100-01-01T00:00:00.123Z
    let db = dhanita::db::Db::open(&app.db_path(), dhanita::db::Synchronous::Full).unwrap();
    let owned = l2.clone();
    db.write(move |c| {
        let row = dhanita::db::leads::find(c, &owned)?.expect("the lead").row;
        dhanita::db::leads::touch(c, row, at_ms)
    })
    .unwrap();
    db.close();
    assert_eq!(
        ids(
            &admin,
            &format!("updated_since={}", qs("2100-01-01T00:00:00.123Z"))
        ),
        v(&[&l2])
    );
    assert_empty(
        &admin,
        &format!("updated_since={}", qs("2100-01-01T00:00:00.124Z")),
    );

    // Filters matching nothing: an empty list, not an error.
    for q in [
        "status=approved".to_string(),
        "product=NOPE".to_string(),
        "dsa_code=NONE01".to_string(),
        "mobile=9123456789".to_string(),
        "q=zzz".to_string(),
        "q=%25".to_string(),
        "q=_".to_string(),
        format!("q={}", qs("तमिल")),
        "status=rejected&product=HOME_LOAN".to_string(),
    ] {
        assert_empty(&admin, &q);
    }

    // A filtered list pages like any other.
    let (p1, cur) = page(&admin, "status=document_pending&limit=2");
    assert_eq!(p1, v(&[&l5, &l4]));
    let (p2, cur2) = page(
        &admin,
        &format!(
            "status=document_pending&limit=2&cursor={}",
            qs(&cur.unwrap())
        ),
    );
    assert_eq!(p2, v(&[&l2]));
    assert_eq!(cur2, None);

    // Partners see only their own leads, under every filter.
    assert_eq!(ids(&acme, ""), v(&[&l5, &l4]));
    assert_eq!(ids(&acme, "status=document_pending"), v(&[&l5, &l4]));
    assert_eq!(ids(&acme, "product=PERSONAL_LOAN"), v(&[&l5]));
    assert_eq!(ids(&acme, "dsa_code=ACME01"), v(&[&l4]));
    assert_empty(&acme, "mobile=9876500002");
    assert_empty(&acme, "q=rahul");
    assert_empty(&acme, "dsa_code=DSA001");
    assert_empty(&beta, "");
    assert_empty(&beta, "status=document_pending");
}

#[test]
fn malformed_filter_values_are_422_naming_each() {
    let app = spawn_app();
    let admin = app.admin();
    let key = app.create_key(Role::Partner, "Acme", None);
    let partner = app.with_key(&key);
    admin.new_lead("9876543210");
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("created_from=2026-13-01", "created_from"),
        ("created_from=2026-1-5", "created_from"),
        ("created_to=2026-02-30", "created_to"),
        ("created_to=yesterday", "created_to"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-05-18", "updated_since"),
        ("cursor=zzz", "cursor"),
        ("status=bogus", "status"),
        ("mobile=123", "mobile"),
        ("mobile=5876543210", "mobile"),
    ];
    for (q, field) in cases {
        for c in [&admin, &partner] {
            let r = c.list_leads(q);
            assert_fields(&r, &[field]);
        }
    }
    // All at once: every bad parameter is named.
    let r = admin.list_leads(
        "limit=0&created_from=2026-13-01&created_to=x&updated_since=yesterday&cursor=zzz&status=bogus&mobile=123",
    );
    assert_fields(
        &r,
        &[
            "created_from",
            "created_to",
            "cursor",
            "limit",
            "mobile",
            "status",
            "updated_since",
        ],
    );
}
