"""mlstutor: an offline-first retrieval tutor for the AWS Certified Machine Learning – Specialty exam.

Three lines to search the notes::

    from mlstutor import Retriever
    retriever = Retriever.open()            # builds the index under ./index on first use
    for hit in retriever.search("What is the largest record Kinesis Data Streams accepts?"):
        print(hit.rank, hit.chunk.source, hit.chunk.heading)
"""

from mlstutor.chunking import Chunk
from mlstutor.config import Settings
from mlstutor.errors import MlstutorError
from mlstutor.retrieval import Hit, Retriever

__all__ = ["Chunk", "Hit", "MlstutorError", "Retriever", "Settings"]
__version__ = "0.1.0"
