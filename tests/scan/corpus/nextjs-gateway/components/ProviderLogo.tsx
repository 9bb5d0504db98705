import Image from 'next/image';
import groqLogo from '../public/groq.png';

export function ProviderLogo() {
  return <Image src={groqLogo} alt="groq" width={24} height={24} data-fallback="/groq.png" />;
}
