/** @type {import('next').NextConfig} */
const nextConfig = { experimental: { serverActions: { bodySizeLimit: '2mb' } } };
export default nextConfig;
