"""doc/span/token `.vector` and `.similarity` read the transformer's token vectors (set_doc_vectors)."""
import pickle

import numpy as np
import pytest
from pipelines import build, write_config


@pytest.fixture(scope="module")
def nlp(tmp_path_factory, tiny_encoder):
    return build(write_config(tmp_path_factory.mktemp("vectors"), tiny_encoder, ["tagger"]))[0]


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_are_means_of_the_token_vectors(nlp):
    doc = nlp("Anna lives in Berlin with a fox.")
    rows = doc._.trf_vectors
    assert rows.shape == (len(doc), 32) and np.abs(rows).sum() > 0
    assert np.allclose(doc.vector, rows.mean(axis=0))
    assert np.array_equal(doc[3].vector, rows[3])
    assert np.allclose(doc[1:4].vector, rows[1:4].mean(axis=0))
    assert doc.has_vector and doc[0].has_vector and doc[1:3].has_vector
    assert doc[2:2].vector.shape == (32,) and not doc[2:2].vector.any()  # an empty span


def test_similarity_is_the_cosine_of_the_vectors(nlp):
    a, b = nlp("Anna lives in Berlin."), nlp("The fox jumps over a dog.")
    assert a.similarity(b) == pytest.approx(cosine(a.vector, b.vector), abs=1e-6)
    assert a.similarity(a) == pytest.approx(1.0, abs=1e-6)
    assert a[0].similarity(b[1]) == pytest.approx(cosine(a[0].vector, b[1].vector), abs=1e-6)
    assert a[0:2].similarity(b) == pytest.approx(cosine(a[0:2].vector, b.vector), abs=1e-6)
    assert -1.0 <= a.similarity(b) <= 1.0 and a.similarity(b) != pytest.approx(1.0)
    empty = nlp("")
    assert empty.vector.shape == (32,) and not empty.vector.any() and empty.similarity(a) == 0.0


def test_docs_keep_their_vectors_through_pickle(nlp):
    doc = nlp("Anna lives in Berlin.")
    copy = pickle.loads(pickle.dumps(doc))
    assert np.array_equal(copy.vector, doc.vector) and copy.similarity(doc) == pytest.approx(1.0, abs=1e-6)


def test_without_set_doc_vectors_spacy_keeps_its_own(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    config.write_text(config.read_text().replace('factory = "trftrain_transformer"\n',
                                                 'factory = "trftrain_transformer"\nset_doc_vectors = false\n'))
    nlp = build(config)[0]
    doc = nlp("Anna lives in Berlin.")
    assert doc._.trf_vectors is not None and "vector" not in doc.user_hooks
    assert doc.vector.shape != (32,)  # the (empty) static vectors of a blank vocab, not the transformer's
