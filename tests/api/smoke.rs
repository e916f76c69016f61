use crate::helpers::*;
use serde_json::json;

#[test]
fn create_then_view_a_lead() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({"product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "+91 98765 43210", "loan_amount": 500000}));
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["data"]["lead_id"].as_str().unwrap();
    assert_eq!(id.len(), 14);
    assert_eq!(r.body["data"]["mobile"], "9876543210");
    assert_eq!(r.body["data"]["status"], "document_pending");
    let v = c.lead(id);
    assert_eq!(v.status, 200);
    assert_eq!(v.body["data"]["loan_amount"], json!(500000));
}
