"""Conformance: small BPMN files run through raw SpiffWorkflow and through IRPM alike."""
