//! Document uploads: the blob on disk is exactly the uploaded bytes under its SHA-256, the
//! type is judged by content, and every refused upload leaves nothing behind.

use crate::helpers::*;
use serde_json::{json, Value};
use std::path::Path;

const MIB: usize = 1 << 20;

/// Asserts that the files under `<data_dir>/documents` are exactly the blobs of `shas`,
/// each at `documents/<sha[0:2]>/<sha>`: no temp files, no stray copies.
fn assert_blobs(app: &TestApp, shas: &[&str]) {
    let mut want: Vec<std::path::PathBuf> = shas.iter().map(|s| app.blob_path(s)).collect();
    want.sort();
    want.dedup();
    assert_eq!(app.document_files(), want);
}

fn pdf_of_size(size: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    v.resize(size, b'x');
    v
}

/// Sends only the head of an upload declaring `length` body bytes, and reads the answer:
/// the way a client sees a refusal that comes before its body is sent.
fn declared_only(app: &TestApp, path: &str, length: usize) -> Reply {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n",
        app.key
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Read up to the end of the answer's head and its Content-Length of body.
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let want = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if raw.len() >= end + 4 + want {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        bytes: body.as_bytes().to_vec(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

#[test]
fn uploaded_blobs_are_stored_byte_for_byte_under_their_sha256() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let files = [
        ("PAN", "pan-card.pdf"),
        ("PHOTO", "photo.png"),
        ("AADHAAR", "aadhaar-sample.jpg"),
    ];
    let mut shas = Vec::new();
    for (n, (doc_type, name)) in files.iter().enumerate() {
        let bytes = sample(name);
        let from = unix_now();
        let r = c.upload(&id, doc_type, name, &bytes);
        let to = unix_now();
        let d = assert_ok(&r, 201).clone();
        assert_no_nulls(&r.body, &[]);
        assert_eq!(d["document_id"], json!(format!("DOC{}", 1001 + n)));
        assert_eq!(d["document_type"], json!(doc_type));
        assert_eq!(d["status"], json!("uploaded"));
        assert_eq!(d["size"], json!(bytes.len()));
        let sha = sha256_hex(&bytes);
        assert_eq!(d["sha256"], json!(sha));
        if d.get("uploaded_at").is_some() {
            assert_time(&d["uploaded_at"], Some((from, to)));
        }
        let path = app.blob_path(&sha);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(on_disk, bytes, "{name}");
        assert_eq!(sha256_hex(&on_disk), d["sha256"].as_str().unwrap());
        shas.push(sha);
    }
    let sha_refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    assert_blobs(&app, &sha_refs);
    // The lead got what it needed.
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));

    // The same bytes again: a new document, the same single blob.
    let pdf = sample("pan-card.pdf");
    let r = c.upload(&id, "OTHER", "copy.pdf", &pdf);
    let d = assert_ok(&r, 201);
    assert_eq!(d["document_id"], json!("DOC1004"));
    assert_eq!(d["sha256"], json!(sha256_hex(&pdf)));
    assert_blobs(&app, &sha_refs);

    // The list shows the four, in upload order.
    let r = c.get(&format!("/api/v1/leads/{id}/documents"));
    let list = assert_ok(&r, 200).as_array().expect("list").clone();
    let ids: Vec<&Value> = list.iter().map(|d| &d["document_id"]).collect();
    assert_eq!(
        ids,
        [
            &json!("DOC1001"),
            &json!("DOC1002"),
            &json!("DOC1003"),
            &json!("DOC1004")
        ]
    );
}

#[test]
fn the_type_is_judged_by_content_not_by_the_client() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    // A real PDF named and labelled as a PNG is a PDF, and is taken.
    let pdf = sample("pan-card.pdf");
    let r = c.upload_with(
        &id,
        &[
            Part {
                name: "document_type",
                filename: None,
                content_type: None,
                bytes: b"pan",
            },
            Part {
                name: "file",
                filename: Some("photo.png"),
                content_type: Some("image/png"),
                bytes: &pdf,
            },
        ],
    );
    let d = assert_ok(&r, 201);
    assert_eq!(d["document_type"], json!("PAN"));
    assert_eq!(d["sha256"], json!(sha256_hex(&pdf)));
    // Plain text claiming to be a PDF is refused on `file`, whatever it claims.
    let fake = sample("fake-pdf.txt");
    for (filename, ct) in [
        ("pan-card.pdf", Some("application/pdf")),
        ("scan.jpg", Some("image/jpeg")),
        ("x.png", None),
    ] {
        let r = c.upload_with(
            &id,
            &[
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"AADHAAR",
                },
                Part {
                    name: "file",
                    filename: Some(filename),
                    content_type: ct,
                    bytes: &fake,
                },
            ],
        );
        assert_fields(&r, &["file"]);
    }
    // Truncated magic numbers are not the format either.
    for bytes in [
        &b"%PDF"[..],
        &[0xFF, 0xD8][..],
        &[0x89, b'P', b'N', b'G'][..],
        b"GIF89a......",
    ] {
        let r = c.upload(&id, "AADHAAR", "x.pdf", bytes);
        assert_fields(&r, &["file"]);
    }
    assert_blobs(&app, &[&sha256_hex(&pdf)]);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    let r = c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1002"));
}

#[test]
fn malformed_uploads_are_422_on_their_field_and_store_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    let png = sample("photo.png");
    let cases: Vec<(&str, Vec<Part>, Vec<&str>)> = vec![
        (
            "empty file",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"PAN",
                },
                Part {
                    name: "file",
                    filename: Some("p.pdf"),
                    content_type: Some("application/pdf"),
                    bytes: b"",
                },
            ],
            vec!["file"],
        ),
        (
            "two files",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"PAN",
                },
                Part {
                    name: "file",
                    filename: Some("p.pdf"),
                    content_type: None,
                    bytes: &pdf,
                },
                Part {
                    name: "file",
                    filename: Some("q.png"),
                    content_type: None,
                    bytes: &png,
                },
            ],
            vec!["file"],
        ),
        (
            "no file",
            vec![Part {
                name: "document_type",
                filename: None,
                content_type: None,
                bytes: b"PAN",
            }],
            vec!["file"],
        ),
        (
            "file under another name",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"PAN",
                },
                Part {
                    name: "document",
                    filename: Some("p.pdf"),
                    content_type: None,
                    bytes: &pdf,
                },
            ],
            vec!["file"],
        ),
        (
            "no document_type",
            vec![Part {
                name: "file",
                filename: Some("p.pdf"),
                content_type: None,
                bytes: &pdf,
            }],
            vec!["document_type"],
        ),
        (
            "empty document_type",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"",
                },
                Part {
                    name: "file",
                    filename: Some("p.pdf"),
                    content_type: None,
                    bytes: &pdf,
                },
            ],
            vec!["document_type"],
        ),
        (
            "unknown document_type",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"PASSPORT",
                },
                Part {
                    name: "file",
                    filename: Some("p.pdf"),
                    content_type: None,
                    bytes: &pdf,
                },
            ],
            vec!["document_type"],
        ),
        (
            "nothing useful",
            vec![Part {
                name: "comment",
                filename: None,
                content_type: None,
                bytes: b"hello",
            }],
            vec!["document_type", "file"],
        ),
        (
            "unknown type and fake file",
            vec![
                Part {
                    name: "document_type",
                    filename: None,
                    content_type: None,
                    bytes: b"PASSPORT",
                },
                Part {
                    name: "file",
                    filename: Some("f.pdf"),
                    content_type: None,
                    bytes: b"just text",
                },
            ],
            vec!["document_type", "file"],
        ),
    ];
    for (what, parts, fields) in &cases {
        let r = c.upload_with(&id, parts);
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert_fields(&r, fields);
    }
    // Nothing on disk, nothing in the lead.
    assert_blobs(&app, &[]);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    let r = c.get(&format!("/api/v1/leads/{id}/documents"));
    assert_eq!(assert_ok(&r, 200), &json!([]));
    let r = c.upload(&id, "PAN", "p.pdf", &pdf);
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1001"));
    assert_blobs(&app, &[&sha256_hex(&pdf)]);
}

#[test]
fn garbled_multipart_is_400_and_stores_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let path = format!("/api/v1/leads/{id}/documents");
    let pdf = sample("pan-card.pdf");
    let (ct, good) = multipart(&[
        ("document_type", None, b"PAN"),
        ("file", Some("p.pdf"), &pdf),
    ]);
    // No boundary parameter.
    assert_error(&c.raw("POST", &path, "multipart/form-data", &good), 400);
    // A boundary that never appears.
    assert_error(
        &c.raw(
            "POST",
            &path,
            "multipart/form-data; boundary=somethingElse",
            &good,
        ),
        400,
    );
    // Not multipart at all.
    assert_error(
        &c.raw("POST", &path, &ct, b"document_type=PAN&file=xyz"),
        400,
    );
    // Empty body.
    assert_error(&c.raw("POST", &path, &ct, b""), 400);
    // Cut off in the middle of the file: no closing boundary.
    let cut = good.len() - 60;
    assert_error(&c.raw("POST", &path, &ct, &good[..cut]), 400);
    // Cut off inside a part's headers.
    let header_end = good.windows(9).position(|w| w == b"form-data").unwrap();
    assert_error(&c.raw("POST", &path, &ct, &good[..header_end]), 400);
    assert_blobs(&app, &[]);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    let r = c.upload(&id, "PAN", "p.pdf", &pdf);
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1001"));
}

#[test]
fn a_file_over_ten_mib_is_413_and_exactly_ten_is_taken() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let over = pdf_of_size(10 * MIB + 1);
    let r = c.upload(&id, "PAN", "big.pdf", &over);
    assert_error(&r, 413);
    let (ct, body) = multipart(&[
        ("document_type", None, b"PAN"),
        ("file", Some("big.pdf"), &over),
    ]);
    let r = c.raw_chunked("POST", &format!("/api/v1/leads/{id}/documents"), &ct, body);
    assert_error(&r, 413);
    // A declared size far over the limit is refused before any of the body is sent.
    let r = declared_only(&app, &format!("/api/v1/leads/{id}/documents"), 12 * MIB);
    assert_error(&r, 413);
    assert_blobs(&app, &[]);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);

    let exact = pdf_of_size(10 * MIB);
    let r = c.upload(&id, "PAN", "big.pdf", &exact);
    let d = assert_ok(&r, 201);
    assert_eq!(d["document_id"], json!("DOC1001"));
    assert_eq!(d["size"], json!(10 * MIB));
    let sha = sha256_hex(&exact);
    assert_eq!(d["sha256"], json!(sha));
    assert_eq!(std::fs::read(app.blob_path(&sha)).unwrap(), exact);
    assert_blobs(&app, &[&sha]);
}

#[test]
fn the_client_filename_is_never_a_path() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    for name in [
        "../../../../outside.pdf",
        "/tmp/absolute.pdf",
        "..\\..\\windows.pdf",
        "documents/ab/abc.pdf",
    ] {
        let r = c.upload(&id, "OTHER", name, &pdf);
        assert_ok(&r, 201);
    }
    assert_blobs(&app, &[&sha256_hex(&pdf)]);
    // Nothing was written next to the data dir either.
    let parent = app.data_dir().parent().unwrap();
    for stray in ["outside.pdf", "absolute.pdf", "windows.pdf"] {
        assert!(!parent.join(stray).exists(), "{stray}");
    }
    assert!(!Path::new("/tmp/absolute.pdf").exists());
}

#[test]
fn a_download_answers_304_to_a_client_that_has_its_etag() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    let r = c.upload(&id, "PAN", "pan-card.pdf", &pdf);
    let doc = assert_ok(&r, 201)["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let etag = format!("\"{}\"", sha256_hex(&pdf));
    let path = format!("/api/v1/leads/{id}/documents/{doc}/file");
    let r = c.get(&path);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    assert_eq!(r.bytes, pdf);
    let conditional =
        |value: &str| c.send(c.request("GET", &path).set("If-None-Match", value), None);
    for value in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_string(),
    ] {
        let r = conditional(&value);
        assert_eq!(r.status, 304, "{value}");
        assert!(r.bytes.is_empty(), "{value}");
        assert_eq!(r.header("ETag"), Some(etag.as_str()), "{value}");
    }
    for value in ["\"other\"", "", "W/\"0000\""] {
        let r = conditional(value);
        assert_eq!(r.status, 200, "{value}");
        assert_eq!(r.bytes, pdf, "{value}");
    }
    // The check comes after the key and the lead: another partner still gets a 404.
    let key = app.create_key(dhanita::model::Role::Partner, "Acme", None);
    let p = app.with_key(&key);
    let r = p.send(p.request("GET", &path).set("If-None-Match", &etag), None);
    assert_error(&r, 404);
}

#[test]
fn a_filename_in_any_script_round_trips_and_downloads_with_its_utf8_name() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    let r = c.upload(&id, "PAN", "पैन कार्ड.pdf", &pdf);
    let d = assert_ok(&r, 201).clone();
    assert_eq!(d["filename"], json!("पैन कार्ड.pdf"));
    let doc = d["document_id"].as_str().unwrap();
    let r = c.documents(&id);
    assert_eq!(assert_ok(&r, 200)[0]["filename"], json!("पैन कार्ड.pdf"));
    let r = c.document_file(&id, doc);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Disposition"),
        Some(
            "attachment; filename=\"___ _____.pdf\"; filename*=UTF-8''%E0%A4%AA%E0%A5%88%E0%A4%A8%20%E0%A4%95%E0%A4%BE%E0%A4%B0%E0%A5%8D%E0%A4%A1.pdf"
        )
    );
    assert_eq!(r.bytes, pdf);
    // Spoofing and path characters are still replaced.
    let r = c.upload(&id, "OTHER", "scan\u{202E}fdp.exe:1", &pdf);
    let doc = assert_ok(&r, 201).clone();
    assert_eq!(doc["filename"], json!("scan_fdp.exe_1"));
    // Kept as sent, but saved under the extension of what it holds.
    let r = c.document_file(&id, doc["document_id"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Disposition"),
        Some("attachment; filename=\"scan_fdp.exe_1.pdf\"")
    );
}
