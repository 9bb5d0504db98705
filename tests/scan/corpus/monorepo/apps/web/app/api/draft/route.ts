import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';

const openai = createOpenAI({ apiKey: process.env.OPENAI_API_KEY });

export async function POST(req: Request) {
  const { brief } = await req.json();
  const { text } = await generateText({ model: openai('gpt-4.1'), prompt: brief });
  return Response.json({ text });
}
