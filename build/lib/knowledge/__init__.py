"""The seller's knowledge base: documents, ingestion into pgvector, and retrieval."""
