from fastapi import FastAPI

from app.llm import classify

app = FastAPI()


@app.post("/tickets")
def triage(body: dict) -> dict:
    return {"category": classify(body["text"])}
