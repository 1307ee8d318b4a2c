"""Turn one batch of input records into output: the good ones through the pipeline and into encoded records, the bad
ones into entries for the errors file. Every runner (in-process, worker processes, Ray actors) calls this."""
import json
from dataclasses import dataclass, field
from typing import Dict, List

from .inputs import InputRecord, ShardPlan
from .records import Columns, make_record


@dataclass
class BatchResult:
    """What a batch gave. records (int): input records it covered, good and bad; payloads (List[bytes]): one encoded
    record per good input, in order; errors (List[dict]): one errors-file entry per bad input; words (int): tokens."""
    shard: str
    records: int
    payloads: List[bytes] = field(default_factory=list)
    errors: List[Dict] = field(default_factory=list)
    words: int = 0


def error_entry(plan: ShardPlan, record: InputRecord) -> Dict:
    """The errors-file line of a bad record: where it is in its source and why it was not annotated."""
    kind, reason = record.problem
    return {"source": plan.source.label, plan.source.unit: record.number, "kind": kind, "reason": reason,
            "shard": plan.name}


def encode_json(record: Dict) -> bytes:
    # str() for what JSON lacks (dates, decimals from Parquet inputs), so that a carried field never stops a run.
    return json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")


def encode_docbin(doc, record_id, meta) -> bytes:
    from spacy.tokens import DocBin

    # Only the id and the carried fields go along: extension data such as the transformer's vectors would be large.
    doc.user_data = {"id": record_id, "meta": json.loads(encode_json(meta))}
    return DocBin(docs=[doc], store_user_data=True).to_bytes()


class BatchAnnotator:
    """A loaded pipeline and what to write, applied batch by batch.

    nlp (Language): the pipeline. columns (Columns): what records hold. output_format (str): jsonl, parquet or docbin.
    """

    def __init__(self, nlp, columns: Columns, output_format: str):
        self.nlp, self.columns, self.output_format = nlp, columns, output_format

    def __call__(self, plan: ShardPlan, records: List[InputRecord]) -> BatchResult:
        good = [r for r in records if r.problem is None]
        result = BatchResult(plan.name, len(records), errors=[error_entry(plan, r) for r in records if r.problem])
        if not good:
            return result
        docs = self.nlp.pipe([r.text for r in good], batch_size=len(good))
        for record, doc in zip(good, docs):
            result.words += len(doc)
            if self.output_format == "docbin":
                result.payloads.append(encode_docbin(doc, record.id, record.meta))
            else:
                result.payloads.append(encode_json(make_record(doc, record.id, record.meta, self.columns)))
        return result
