"""DocVQA question and answer records (the official dataset and submission formats)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Question(BaseModel):
    """One entry of a DocVQA dataset file's ``data`` list."""

    model_config = ConfigDict(extra="allow")

    questionId: int | str  # noqa: N815 - the official key
    question: str
    image: str
    docId: int | str | None = None  # noqa: N815
    answers: list[str] = Field(default_factory=list)
    question_types: list[str] = Field(default_factory=list)


class Dataset(BaseModel):
    model_config = ConfigDict(extra="allow")

    dataset_name: str = "docvqa"
    dataset_split: str = "val"
    data: list[Question]


class Answer(BaseModel):
    """A model answer: the text as printed on the page, with its evidence; null when unanswerable."""

    answer: str | None = Field(default=None, max_length=500)
    page: int | None = None
    bbox: list[float] | None = None
    confidence: float = 0.0
    field: str | None = None  # the schema field the question was mapped to, when it was

    @field_validator("answer", mode="before")
    @classmethod
    def _blank_is_null(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v


class Prediction(BaseModel):
    """One entry of the official submission format."""

    questionId: int | str  # noqa: N815
    answer: str
