-- The masters dhanita starts with. Compiled into the binary and loaded into an empty
-- database only (db::seed); edit a running office's masters in its database, not here.

INSERT INTO categories (name, position) VALUES
    ('Instant Loan', 1), ('KYC Loan', 2), ('Personal Loan', 3), ('Business Loan', 4),
    ('Home Loan', 5), ('Car Loan', 6), ('Credit Card', 7), ('Saving Account', 8),
    ('Demat Account', 9), ('Insurance Services', 10);

INSERT INTO products (code, name, category, status, position) VALUES
    ('INSTANT_LOAN', 'Instant Loan', 'Instant Loan', 'active', 1),
    ('KYC_LOAN', 'KYC Loan', 'KYC Loan', 'active', 2),
    ('PERSONAL_LOAN', 'Personal Loan', 'Personal Loan', 'active', 3),
    ('BUSINESS_LOAN', 'Business Loan', 'Business Loan', 'active', 4),
    ('HOME_LOAN', 'Home Loan', 'Home Loan', 'active', 5),
    ('CAR_LOAN', 'Car Loan', 'Car Loan', 'active', 6),
    ('CREDIT_CARD', 'Credit Card', 'Credit Card', 'active', 7),
    ('SAVING_ACCOUNT', 'Saving Account', 'Saving Account', 'active', 8),
    ('DEMAT_ACCOUNT', 'Demat Account', 'Demat Account', 'active', 9),
    ('INSURANCE_SERVICES', 'Insurance Services', 'Insurance Services', 'active', 10);

INSERT INTO document_types (code, name, position) VALUES
    ('PAN', 'PAN card', 1),
    ('AADHAAR', 'Aadhaar card', 2),
    ('BANK_STATEMENT', 'Bank statement', 3),
    ('SALARY_SLIP', 'Salary slip', 4),
    ('ITR', 'Income tax return', 5),
    ('PHOTO', 'Photograph', 6),
    ('ADDRESS_PROOF', 'Address proof', 7),
    ('GST_CERTIFICATE', 'GST certificate', 8),
    ('OTHER', 'Other document', 9);

-- Every loan and both accounts need PAN + AADHAAR; Credit Card PAN; Insurance none.
INSERT INTO product_documents (product_code, document_type, position)
SELECT code, 'PAN', 1 FROM products WHERE code <> 'INSURANCE_SERVICES';
INSERT INTO product_documents (product_code, document_type, position)
SELECT code, 'AADHAAR', 2 FROM products WHERE code NOT IN ('INSURANCE_SERVICES', 'CREDIT_CARD');

INSERT INTO statuses (code, label, message, position) VALUES
    ('new', 'New', 'Application received.', 1),
    ('document_pending', 'Document Pending', 'Documents are pending. Please upload the required documents.', 2),
    ('under_review', 'Under Review', 'Application is under lender review.', 3),
    ('approved', 'Approved', 'Application has been approved by the lender.', 4),
    ('rejected', 'Rejected', 'Application has been rejected.', 5),
    ('disbursed', 'Disbursed', 'Loan amount has been disbursed.', 6);

INSERT INTO rms (id, name, mobile, email, active) VALUES
    (1, 'Kavya Raman', '9000000001', 'kavya.raman@dhanita.example', 1),
    (2, 'Rohan Mehta', '9000000002', 'rohan.mehta@dhanita.example', 1),
    (3, 'Farah Siddiqui', '9000000003', 'farah.siddiqui@dhanita.example', 1);

INSERT INTO lenders (id, name) VALUES
    (1, 'Suvarna Finserv'),
    (2, 'Nilgiri Capital'),
    (3, 'Ganga Credit Co-operative'),
    (4, 'Deccan Home Finance');

INSERT INTO lender_products (lender_id, product_code, status) VALUES
    (1, 'INSTANT_LOAN', 'active'), (1, 'PERSONAL_LOAN', 'active'), (1, 'KYC_LOAN', 'active'),
    (1, 'CREDIT_CARD', 'active'),
    (2, 'PERSONAL_LOAN', 'active'), (2, 'BUSINESS_LOAN', 'active'), (2, 'CAR_LOAN', 'active'),
    (2, 'DEMAT_ACCOUNT', 'active'), (2, 'SAVING_ACCOUNT', 'active'),
    (3, 'KYC_LOAN', 'active'), (3, 'BUSINESS_LOAN', 'active'), (3, 'SAVING_ACCOUNT', 'active'),
    (3, 'INSURANCE_SERVICES', 'active'), (3, 'INSTANT_LOAN', 'active'),
    (4, 'HOME_LOAN', 'active'), (4, 'CAR_LOAN', 'active'), (4, 'PERSONAL_LOAN', 'active'),
    (4, 'INSURANCE_SERVICES', 'active');

INSERT INTO counters (name, value) VALUES ('document', 1000), ('rm_cursor', 0);
