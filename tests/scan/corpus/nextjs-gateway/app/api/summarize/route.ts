import { generateText } from 'ai';
import { countTokens } from '@/lib/tokens';

export async function POST(req: Request) {
  const { text } = await req.json();
  if (countTokens(text) > 100_000) return new Response('too long', { status: 413 });
  const { text: summary } = await generateText({
    model: 'openai/gpt-5-mini',
    prompt: `Summarise:\n${text}`,
  });
  return Response.json({ summary });
}
