"""mlstutor: an offline-first retrieval tutor for the AWS Certified Machine Learning – Specialty exam.

Three lines to search the notes (passages ranked as ``mlstutor search`` and the eval rank them)::

    from mlstutor import EvidenceFinder, Retriever
    notes = EvidenceFinder.of(Retriever.open())  # builds the index under ./index on first use
    for hit in notes.search("What is the largest record Kinesis Data Streams accepts?"):
        print(hit.rank, hit.chunk.source, hit.chunk.heading)
"""

from mlstutor.chunking import Chunk
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.evidence import EvidenceFinder
from mlstutor.retrieval import Hit, Retriever

__all__ = ["Chunk", "EvidenceFinder", "Hit", "MlstutorError", "Retriever", "Settings"]
__version__ = "0.1.0"
