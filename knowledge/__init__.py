"""The shop's knowledge: storage, embeddings, documents and retrieval."""
