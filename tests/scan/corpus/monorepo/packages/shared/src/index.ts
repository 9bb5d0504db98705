export const formatDate = (d: Date) => d.toISOString().slice(0, 10);
